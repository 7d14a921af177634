// Batched decoding for GRPO and eval: greedy or temperature/top-p sampling, with the KV cache
// (default) or by recomputing the whole sequence each step (reference, and the bench's baseline).
// With the cache, the prompt goes through the TF prefill and each new token through either the
// JS step of decode-js.ts (no TF kernels; WebAssembly SIMD or scalar-JS matmuls; cost ∝ batch × MACs)
// or the TF.js step of model-decode.ts (~30 kernels a layer at tens of µs each, fast matmuls); by
// default each group takes the one its size makes cheaper (defaultDecode).
// Draws come from a caller's Rng (lib/rng), not tf.multinomial, whose fixed seed repeats draws.
// Prompts of different lengths are decoded in groups of equal length (no padding inside a prompt).
// Exports: generate(model, images, prompts, opts) → Generation, pickToken (pure), defaultDecode,
//          GenerateOptions (decode 'js' | 'tf', jsKernel 'simd' | 'scalar').
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng';
import type { ModelConfig, VlmModel } from './model';
import { disposeDecode } from './model-decode';
import { decodeStepJs, defaultJsKernel, prepareDecodeJs, releaseDecodeJs, startDecodeJs, type JsDecodeWeights, type JsKernel } from './decode-js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; default 1. */
  topP?: number;
  /** Required when temperature > 0. */
  rng?: Rng;
  /** End-of-text id; generation of a row stops after it (it is included in the row's tokens). */
  eos: number;
  /** false = recompute the full sequence each step (slow; for tests and the bench). */
  useCache?: boolean;
  /** Cached one-token steps in plain JS or TF.js kernels (same numbers up to rounding); default defaultDecode. */
  decode?: 'js' | 'tf';
  /** Kernel of the JS step's projections: WebAssembly SIMD or scalar JS (reference); default defaultJsKernel. */
  jsKernel?: JsKernel;
}

// What one TF.js kernel call of a decode step is worth in multiply-adds of the JS step, per JS kernel:
// the TF step costs a near-fixed ~40 µs a kernel plus matmuls, the JS step ∝ rows × MACs. Fitted to
// crossovers measured here (tfjs-node, 2 shared cores, 64 new tokens, tokens per CPU-second,
// 2026-12-01): scalar JS (~1.2 ns a MAC) broke even near 35k MACs a kernel (tiny ~20 rows, small ~5);
// the SIMD step with blocked float32 projections (wasm-simd.ts f32b) near small 80 rows (0.99×; 1.16×
// at 64, 1.35× at 48), base 24 (1.05×; 1.22× at 16), tiny past 256 (1.10× at 256, 1.14× at 192):
// 540k–630k MACs a kernel. 480k, to stay on the JS-faster side: tiny up to 274 rows, small up to 71,
// base up to 19 (the f64x2 step it replaced crossed at 188k–237k).
const JS_MACS_PER_KERNEL: Record<JsKernel, number> = { simd: 480_000, scalar: 35_000 };

/** 'js' when a batch of B one-token steps costs less in JS (on `kernel`) than in TF.js kernels (30 a layer + 8). */
export function defaultDecode(c: ModelConfig, B: number, kernel: JsKernel = defaultJsKernel): 'js' | 'tf' {
  const { dim: d, mlp: m, layers: L } = c.text;
  const macsPerToken = L * (4 * d * d + 3 * d * m) + d * c.vocabSize;
  return B * macsPerToken <= (30 * L + 8) * JS_MACS_PER_KERNEL[kernel] ? 'js' : 'tf';
}

export interface Generation {
  /** New tokens per row, ending with eos when the row finished. */
  tokens: number[][];
  /** log p(token) under the model at temperature 1 (what a later forward pass computes). */
  logProbs: number[][];
  /** log-prob under the distribution actually sampled from (temperature and top-p applied). */
  samplingLogProbs: number[][];
  finished: boolean[];
}

/** Chooses a token from one row of logits; returns it with both log-probs. Pure JS. */
export function pickToken(logits: ArrayLike<number>, temperature: number, topP: number, rng?: Rng): { token: number; logProb: number; samplingLogProb: number } {
  const V = logits.length;
  let max = -Infinity;
  let arg = 0;
  for (let i = 0; i < V; i++) if (logits[i] > max) { max = logits[i]; arg = i; }
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(logits[i] - max);
  const logZ = max + Math.log(z);
  if (!(temperature > 0)) return { token: arg, logProb: logits[arg] - logZ, samplingLogProb: 0 };
  if (!rng) throw new Error('sampling with temperature > 0 needs an rng');
  const p = new Float64Array(V);
  let zt = 0;
  for (let i = 0; i < V; i++) { p[i] = Math.exp((logits[i] - max) / temperature); zt += p[i]; }
  for (let i = 0; i < V; i++) p[i] /= zt;
  // Nucleus: the smallest set of most likely tokens whose mass reaches topP (ties by id).
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  let keep = V;
  if (topP < 1) {
    let acc = 0;
    for (let k = 0; k < V; k++) { acc += p[order[k]]; if (acc >= topP) { keep = k + 1; break; } }
  }
  let mass = 0;
  for (let k = 0; k < keep; k++) mass += p[order[k]];
  let u = rng.next() * mass;
  let token = order[keep - 1];
  for (let k = 0; k < keep; k++) { u -= p[order[k]]; if (u < 0) { token = order[k]; break; } }
  return { token, logProb: logits[token] - logZ, samplingLogProb: Math.log(p[token] / mass) };
}

function groupByLength(prompts: number[][]): number[][] {
  const groups = new Map<number, number[]>();
  prompts.forEach((p, i) => groups.set(p.length, [...(groups.get(p.length) ?? []), i]));
  return [...groups.values()];
}

/** Decodes every row; rows are independent, so results equal decoding each prompt alone. */
export function generate(model: VlmModel, images: tf.Tensor4D, prompts: number[][], opts: GenerateOptions): Generation {
  const out: Generation = { tokens: [], logProbs: [], samplingLogProbs: [], finished: [] };
  // JS weights are read at most once per call: fixed during a generation, they may change between calls.
  let js: JsDecodeWeights | undefined;
  try {
    for (const idx of groupByLength(prompts)) {
      const imgs = tf.tidy(() => tf.gather(images, tf.tensor1d(idx, 'int32')) as tf.Tensor4D);
      try {
        const inJs = opts.useCache !== false && (opts.decode ?? defaultDecode(model.config, idx.length, opts.jsKernel)) === 'js';
        if (inJs) js ??= prepareDecodeJs(model.config, (n) => model.p(n), opts.jsKernel);
        const g = generateGroup(model, imgs, idx.map((i) => prompts[i]), opts, inJs ? js : undefined);
        idx.forEach((row, k) => {
          out.tokens[row] = g.tokens[k];
          out.logProbs[row] = g.logProbs[k];
          out.samplingLogProbs[row] = g.samplingLogProbs[k];
          out.finished[row] = g.finished[k];
        });
      } finally {
        imgs.dispose();
      }
    }
  } finally {
    // the next call's weights reuse their memory (its pages already mapped)
    if (js) releaseDecodeJs(js);
  }
  return out;
}

/** Logits [B, V] of the next position after feeding `next`; may reuse one buffer, read before the next call. */
type Step = (next: number[]) => Float32Array;
interface Stepper { step: Step; first: Float32Array; dispose: () => void }

function generateGroup(model: VlmModel, images: tf.Tensor4D, prompts: number[][], opts: GenerateOptions, js?: JsDecodeWeights): Generation {
  const B = prompts.length;
  const V = model.config.vocabSize;
  const res: Generation = { tokens: prompts.map(() => []), logProbs: prompts.map(() => []), samplingLogProbs: prompts.map(() => []), finished: prompts.map(() => false) };
  const { step, first, dispose } = opts.useCache === false ? recomputeStepper(model, images, prompts)
    : js ? jsStepper(model, js, images, prompts, opts.maxNewTokens) : cacheStepper(model, images, prompts);
  try {
    let logits = first;
    for (let t = 0; t < opts.maxNewTokens; t++) {
      const next: number[] = [];
      for (let i = 0; i < B; i++) {
        if (res.finished[i]) { next.push(opts.eos); continue; }
        const pick = pickToken(logits.subarray(i * V, (i + 1) * V), opts.temperature ?? 0, opts.topP ?? 1, opts.rng);
        res.tokens[i].push(pick.token);
        res.logProbs[i].push(pick.logProb);
        res.samplingLogProbs[i].push(pick.samplingLogProb);
        if (pick.token === opts.eos) res.finished[i] = true;
        next.push(pick.token);
      }
      if (res.finished.every(Boolean) || t + 1 === opts.maxNewTokens) break;
      logits = step(next);
    }
  } finally {
    dispose();
  }
  return res;
}

/** TF prefill, then plain-JS steps over a cache with room for every new token (nothing to dispose). */
function jsStepper(model: VlmModel, w: JsDecodeWeights, images: tf.Tensor4D, prompts: number[][], maxNewTokens: number): Stepper {
  const B = prompts.length;
  const T = prompts[0].length;
  let length = 0;
  const r = tf.tidy(() => {
    const o = model.prefill(images, tf.tensor2d(prompts.flat(), [B, T], 'int32'));
    length = o.cache.length;
    return { logits: o.logits, layers: o.cache.layers.map((e) => ({ k: e.k, v: e.v })) };
  });
  try {
    const first = r.logits.dataSync() as Float32Array;
    const state = startDecodeJs(w, r.layers, length, B, length + maxNewTokens);
    return { first, step: (next) => decodeStepJs(w, state, next), dispose: () => undefined };
  } finally {
    tf.dispose([r.logits, ...r.layers.flatMap((e) => [e.k, e.v])]);
  }
}

function cacheStepper(model: VlmModel, images: tf.Tensor4D, prompts: number[][]): Stepper {
  const B = prompts.length;
  const T = prompts[0].length;
  let layers: tf.Tensor[][] = [];
  let length = 0;
  const dw = model.prepareDecode();
  const run = (f: () => { logits: tf.Tensor2D; cache: { layers: { k: tf.Tensor; v: tf.Tensor }[]; length: number } }) => {
    const r = tf.tidy(() => {
      const o = f();
      length = o.cache.length;
      return { logits: o.logits, layers: o.cache.layers.map((e) => [e.k, e.v]) };
    });
    for (const pair of layers) tf.dispose(pair);
    layers = r.layers;
    const data = r.logits.dataSync() as Float32Array;
    r.logits.dispose();
    return data;
  };
  const first = run(() => model.prefill(images, tf.tensor2d(prompts.flat(), [B, T], 'int32')));
  const step: Step = (next) => run(() => model.decodeStep(tf.tensor2d(next, [B, 1], 'int32'),
    { layers: layers.map(([k, v]) => ({ k: k as tf.Tensor4D, v: v as tf.Tensor4D })), length }, dw));
  return { step, first, dispose: () => { for (const pair of layers) tf.dispose(pair); layers = []; disposeDecode(dw); } };
}

function recomputeStepper(model: VlmModel, images: tf.Tensor4D, prompts: number[][]): Stepper {
  const seqs = prompts.map((p) => [...p]);
  const B = seqs.length;
  const last = (): Float32Array => tf.tidy(() => {
    const T = seqs[0].length;
    const logits = model.textLogits(images, tf.tensor2d(seqs.flat(), [B, T], 'int32'));
    return tf.slice(logits, [0, T - 1, 0], [B, 1, -1]).dataSync() as Float32Array;
  });
  const step: Step = (next) => { next.forEach((t, i) => seqs[i].push(t)); return last(); };
  return { step, first: last(), dispose: () => undefined };
}
