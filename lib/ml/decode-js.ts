// The one-token decode step in plain JavaScript over Float32Arrays (issue 14). At these sizes a
// step for a batch of 8 is a few MFLOP, while the TF.js path (model-decode.ts) runs ~30 kernels per
// layer at 25–180 µs each; loops over typed arrays pay none of that. Once per generate() call
// `prepareDecodeJs` reads every text weight once (dataSync), folds the RMSNorm gains into the
// following matrix and stores each matrix transposed ([out, in]), so a matmul is dot products over
// contiguous rows. `startDecodeJs` copies the TF prefill's keys/values once into preallocated
// [B, H, maxLen, hd] arrays per layer; `decodeStepJs` then allocates nothing.
// Loop order, measured here (node 20, 8 × 128 @ 128 × 384, MAC/s): i-k-j accumulating into a
// Float32Array row 0.34–0.44 G, into a Float64Array row 0.41 G; dot products over transposed rows
// with one double accumulator 0.46–0.51 G, 4 batch rows at once 1.05–1.2 G, and 4 rows × 2 columns
// (8 independent double sums, each load used 2–4 times) 1.6–1.85 G, the kernel used below. V8 does
// not vectorise, so that is near the ceiling of scalar JS: f64 weights or float32 (Math.fround)
// sums were no faster. Attention sums four keys per pass for the same reason.
// Same maths as decodeOneStep (RMSNorm, RoPE, causal attention over the cache, SwiGLU, final norm
// and tied head); results differ from it only by float rounding (decode-js.test.ts).
// Exports: JsDecodeWeights, JsDecodeState, prepareDecodeJs, startDecodeJs, decodeStepJs.
import type * as tf from '@tensorflow/tfjs';
import type { KvEntry } from './model-layers';
import type { ModelConfig } from './model-config';

/** Transposed [out, in] matrices, gains folded: wqkv [3d, d], wo [d, d], w1 and w3 [m, d], w2 [d, m]. */
interface JsLayer { wqkv: Float32Array; wo: Float32Array; w1: Float32Array; w3: Float32Array; w2: Float32Array }

export interface JsDecodeWeights {
  d: number; H: number; hd: number; m: number; V: number; eps: number; ropeBase: number;
  /** [V, d]: token embeddings (the gather). */
  embed: Float32Array;
  /** [V, d]: the tied head, already [out, in], with the final norm's gain folded in. */
  head: Float32Array;
  layers: JsLayer[];
}

type Getter = (name: string) => tf.Tensor;

/** w [K, N] (x @ w) scaled by g[k] per input row → [N, K]. */
function transposeScaled(w: ArrayLike<number>, K: number, N: number, g?: ArrayLike<number>): Float32Array {
  const out = new Float32Array(N * K);
  for (let k = 0; k < K; k++) {
    const s = g ? g[k] : 1;
    for (let j = 0; j < N; j++) out[j * K + k] = w[k * N + j] * s;
  }
  return out;
}

/** Reads the current text weights once; call again after they change. */
export function prepareDecodeJs(c: ModelConfig, p: Getter): JsDecodeWeights {
  const d = c.text.dim;
  const m = c.text.mlp;
  const V = c.vocabSize;
  const read = (n: string) => p(n).dataSync() as Float32Array;
  const layers = Array.from({ length: c.text.layers }, (_, l): JsLayer => {
    const pre = `text.block.${l}`;
    const w13 = transposeScaled(read(`${pre}.w13`), d, 2 * m, read(`${pre}.norm2`));
    return {
      wqkv: transposeScaled(read(`${pre}.wqkv`), d, 3 * d, read(`${pre}.norm1`)),
      wo: transposeScaled(read(`${pre}.wo`), d, d),
      w1: w13.slice(0, m * d),
      w3: w13.slice(m * d),
      w2: transposeScaled(read(`${pre}.w2`), m, d),
    };
  });
  const embed = Float32Array.from(read('text.embed'));
  const g = read('text.norm');
  const head = new Float32Array(V * d);
  for (let j = 0; j < V; j++) for (let k = 0; k < d; k++) head[j * d + k] = embed[j * d + k] * g[k];
  return { d, H: c.text.heads, hd: d / c.text.heads, m, V, eps: c.normEps, ropeBase: c.ropeBase, embed, head, layers };
}

/**
 * out [B, N] = x [B, K] @ wT [N, K]ᵀ. Blocks of 4 rows × 2 columns share every load; an odd last
 * column is computed twice (v = w) and written once, leftover rows take a 1 × 2 loop.
 */
function matmulT(x: Float32Array, B: number, K: number, wT: Float32Array, N: number, out: Float32Array): void {
  for (let j = 0; j < N; j += 2) {
    const w = j * K;
    const two = j + 1 < N;
    const v = two ? w + K : w;
    let b = 0;
    for (; b + 4 <= B; b += 4) {
      const x0 = b * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let t = 0; t < K; t++) {
        const wt = wT[w + t], vt = wT[v + t];
        const y0 = x[x0 + t], y1 = x[x1 + t], y2 = x[x2 + t], y3 = x[x3 + t];
        a0 += y0 * wt; a1 += y1 * wt; a2 += y2 * wt; a3 += y3 * wt;
        c0 += y0 * vt; c1 += y1 * vt; c2 += y2 * vt; c3 += y3 * vt;
      }
      const o = b * N + j;
      out[o] = a0; out[o + N] = a1; out[o + 2 * N] = a2; out[o + 3 * N] = a3;
      if (two) { out[o + 1] = c0; out[o + N + 1] = c1; out[o + 2 * N + 1] = c2; out[o + 3 * N + 1] = c3; }
    }
    for (; b < B; b++) {
      const x0 = b * K;
      let a0 = 0, c0 = 0;
      for (let t = 0; t < K; t++) { const y = x[x0 + t]; a0 += y * wT[w + t]; c0 += y * wT[v + t]; }
      out[b * N + j] = a0;
      if (two) out[b * N + j + 1] = c0;
    }
  }
}

/** out [B, d] = x · rsqrt(mean(x²) + eps), row by row (the gain is folded into the next matrix). */
function rmsScale(x: Float32Array, B: number, d: number, eps: number, out: Float32Array): void {
  for (let b = 0; b < B; b++) {
    const o = b * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) out[o + i] = x[o + i] * r;
  }
}

/** The KV cache ([B, H, maxLen, hd] per layer) and every scratch buffer of a step, allocated once. */
export interface JsDecodeState {
  B: number; maxLen: number;
  /** Positions filled so far (image tokens + prompt + decoded). */
  length: number;
  k: Float32Array[]; v: Float32Array[];
  x: Float32Array; h: Float32Array; qkv: Float32Array; ctx: Float32Array; y: Float32Array;
  gate: Float32Array; up: Float32Array; scores: Float64Array; acc: Float64Array; cos: Float64Array; sin: Float64Array;
  /** [B, V]; overwritten by the next step. */
  logits: Float32Array;
}

/** Takes over a prefill's keys/values ([B, H, length, hd] tensors, read once) with room up to maxLen positions. */
export function startDecodeJs(w: JsDecodeWeights, prefill: KvEntry[], length: number, B: number, maxLen: number): JsDecodeState {
  const { d, H, hd, m } = w;
  const copy = (t: tf.Tensor) => {
    if (t.shape.join() !== [B, H, length, hd].join()) throw new Error(`startDecodeJs: prefill keys/values of shape [${t.shape}], expected [${[B, H, length, hd]}]`);
    const src = t.dataSync() as Float32Array;
    const dst = new Float32Array(B * H * maxLen * hd);
    for (let bh = 0; bh < B * H; bh++) dst.set(src.subarray(bh * length * hd, (bh + 1) * length * hd), bh * maxLen * hd);
    return dst;
  };
  return {
    B, maxLen, length,
    k: prefill.map((e) => copy(e.k)), v: prefill.map((e) => copy(e.v)),
    x: new Float32Array(B * d), h: new Float32Array(B * d), qkv: new Float32Array(B * 3 * d), ctx: new Float32Array(B * d),
    y: new Float32Array(B * d), gate: new Float32Array(B * m), up: new Float32Array(B * m),
    scores: new Float64Array(maxLen), acc: new Float64Array(hd), cos: new Float64Array(hd / 2), sin: new Float64Array(hd / 2),
    logits: new Float32Array(B * w.V),
  };
}

/** scores[t] = scale · q·K[base + t·hd ..] for t < S, four keys per pass over q (independent sums). */
function scoreKeys(qkv: Float32Array, q: number, K: Float32Array, base: number, hd: number, S: number, scale: number, scores: Float64Array): void {
  let t = 0;
  for (; t + 4 <= S; t += 4) {
    const k0 = base + t * hd, k1 = k0 + hd, k2 = k1 + hd, k3 = k2 + hd;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let i = 0; i < hd; i++) {
      const qi = qkv[q + i];
      a0 += qi * K[k0 + i]; a1 += qi * K[k1 + i]; a2 += qi * K[k2 + i]; a3 += qi * K[k3 + i];
    }
    scores[t] = a0 * scale; scores[t + 1] = a1 * scale; scores[t + 2] = a2 * scale; scores[t + 3] = a3 * scale;
  }
  for (; t < S; t++) {
    let a = 0;
    for (let i = 0; i < hd; i++) a += qkv[q + i] * K[base + t * hd + i];
    scores[t] = a * scale;
  }
}

/** acc = Σ_t e[t] · V[base + t·hd ..] (unnormalised), four values per pass over acc. */
function mixValues(e: Float64Array, V: Float32Array, base: number, hd: number, S: number, acc: Float64Array): void {
  acc.fill(0);
  let t = 0;
  for (; t + 4 <= S; t += 4) {
    const v0 = base + t * hd, v1 = v0 + hd, v2 = v1 + hd, v3 = v2 + hd;
    const e0 = e[t], e1 = e[t + 1], e2 = e[t + 2], e3 = e[t + 3];
    for (let i = 0; i < hd; i++) acc[i] += e0 * V[v0 + i] + e1 * V[v1 + i] + e2 * V[v2 + i] + e3 * V[v3 + i];
  }
  for (; t < S; t++) for (let i = 0; i < hd; i++) acc[i] += e[t] * V[base + t * hd + i];
}

/**
 * RoPE on q and k of every head in s.qkv, k and v into the cache at `pos`, then causal attention of
 * each (row, head) over positions 0..pos into s.ctx [B, d]. q·k is scaled by 1/sqrt(hd).
 */
function attend(w: JsDecodeWeights, s: JsDecodeState, l: number, pos: number): void {
  const { d, H, hd } = w;
  const half = hd / 2;
  const S = pos + 1;
  const scale = 1 / Math.sqrt(hd);
  const { qkv, cos, sin, scores, acc, ctx } = s;
  const K = s.k[l];
  const Vc = s.v[l];
  for (let b = 0; b < s.B; b++) {
    const row = b * 3 * d;
    for (let hh = 0; hh < H; hh++) {
      // rotate-half RoPE: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) on q (part 0) and k (part 1)
      for (let part = 0; part < 2; part++) {
        const o = row + part * d + hh * hd;
        for (let i = 0; i < half; i++) {
          const x1 = qkv[o + i], x2 = qkv[o + i + half];
          qkv[o + i] = x1 * cos[i] - x2 * sin[i];
          qkv[o + i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
      const q = row + hh * hd;
      const base = (b * H + hh) * s.maxLen * hd;
      const at = base + pos * hd;
      for (let i = 0; i < hd; i++) { K[at + i] = qkv[row + d + hh * hd + i]; Vc[at + i] = qkv[row + 2 * d + hh * hd + i]; }
      scoreKeys(qkv, q, K, base, hd, S, scale, scores);
      let max = -Infinity;
      for (let t = 0; t < S; t++) if (scores[t] > max) max = scores[t];
      let z = 0;
      for (let t = 0; t < S; t++) { scores[t] = Math.exp(scores[t] - max); z += scores[t]; }
      mixValues(scores, Vc, base, hd, S, acc);
      for (let i = 0; i < hd; i++) ctx[b * d + hh * hd + i] = acc[i] / z;
    }
  }
}

/**
 * tokens [B] at the next position → logits [B, V] (s.logits, overwritten by the next call) and the
 * cache extended by one position.
 */
export function decodeStepJs(w: JsDecodeWeights, s: JsDecodeState, tokens: ArrayLike<number>): Float32Array {
  const { d, hd, m } = w;
  const B = s.B;
  const pos = s.length;
  if (pos >= s.maxLen) throw new Error(`decodeStepJs: position ${pos} is past the cache's ${s.maxLen} positions`);
  if (tokens.length !== B) throw new Error(`decodeStepJs: ${tokens.length} tokens for a batch of ${B}`);
  for (let i = 0; i < hd / 2; i++) {
    const angle = pos / Math.pow(w.ropeBase, (2 * i) / hd);
    s.cos[i] = Math.cos(angle);
    s.sin[i] = Math.sin(angle);
  }
  const { x, h, qkv, ctx, y, gate, up } = s;
  for (let b = 0; b < B; b++) {
    const t = tokens[b];
    if (!(t >= 0 && t < w.V)) throw new Error(`decodeStepJs: token ${t} of row ${b} is outside the vocabulary 0..${w.V - 1}`);
    x.set(w.embed.subarray(t * d, (t + 1) * d), b * d);
  }
  for (let l = 0; l < w.layers.length; l++) {
    const L = w.layers[l];
    rmsScale(x, B, d, w.eps, h);
    matmulT(h, B, d, L.wqkv, 3 * d, qkv);
    attend(w, s, l, pos);
    matmulT(ctx, B, d, L.wo, d, y);
    for (let i = 0; i < B * d; i++) x[i] += y[i];
    rmsScale(x, B, d, w.eps, h);
    matmulT(h, B, d, L.w1, m, gate);
    matmulT(h, B, d, L.w3, m, up);
    for (let i = 0; i < B * m; i++) { const g = gate[i]; gate[i] = (g / (1 + Math.exp(-g))) * up[i]; }
    matmulT(gate, B, m, L.w2, d, y);
    for (let i = 0; i < B * d; i++) x[i] += y[i];
  }
  rmsScale(x, B, d, w.eps, h);
  matmulT(h, B, d, w.head, w.V, s.logits);
  s.length = pos + 1;
  return s.logits;
}
