// The one-token decode step outside TF.js, in JS loops over typed arrays and WebAssembly SIMD
// (issue 14). At these sizes a step for a batch of 8 is a few MFLOP, while the TF.js path
// (model-decode.ts) runs ~30 kernels per layer at 25–180 µs each; these loops pay none of that. Once per generate() call
// `prepareDecodeJs` reads every text weight once (dataSync) and folds the RMSNorm gains into the
// following matrix. `startDecodeJs` copies the TF prefill's keys/values once into a preallocated
// cache per layer; `decodeStepJs` then allocates nothing.
// Projections (qkv, wo, w1|w3, w2, head) and attention run on one of two kernels, `JsKernel`:
//  - 'simd' (default where the engine has WebAssembly SIMD): wasm-simd.ts's kernels, projections on
//    f32b (float32 sums over blocks of 32 values of k, added in doubles; 8–14 GMAC/s on one core
//    here), attention on f64w32 (double sums over a float32 cache). Weights go into its
//    WebAssembly.Memory once per prepare ([in, out] rows, padded to 8 columns, as floats); the step's
//    buffers and the KV cache (keys transposed, so a head's scores are one matmul) are views of that
//    memory, so nothing is copied per step.
//  - 'scalar' (the reference and fallback): matrices stored transposed ([out, in]), 4 rows × 2 columns
//    of dot products per pass in double sums, 1.6–1.85 GMAC/s (i-k-j into a row 0.34–0.44; one double
//    accumulator 0.46–0.51): the ceiling of scalar JS, since V8 does not vectorise.
// Attention does the same arithmetic on both (double sums in order, float32 roundings where the
// scalar path stores into a Float32Array); the projections do not: the SIMD ones round products and
// 32-term block sums to float32, twice the rate of exact double sums. So the two agree to float32
// rounding, not bit for bit (decode-js.test.ts compares both with the full forward, within 1e-5, and
// their greedy tokens with the TF step's); each is deterministic, whatever the batch.
// Same maths as decodeOneStep (RMSNorm, RoPE, causal attention over the cache, SwiGLU, final norm
// and tied head); results differ from it only by float rounding (decode-js.test.ts).
// Attention over the cache (scalar and SIMD) lives in decode-attention.ts.
// Exports: JsKernel, defaultJsKernel, JsDecodeWeights, JsDecodeState, Floats, prepareDecodeJs,
//          startDecodeJs, decodeStepJs, releaseDecodeJs.
import type * as tf from '@tensorflow/tfjs';
import type { KvEntry } from './model-layers';
import type { ModelConfig } from './model-config';
import { attend, attendSimd } from './decode-attention';
import { SimdMemory, simdSupported, type SimdMatrix } from './wasm-simd';

export type JsKernel = 'simd' | 'scalar';
/** What prepareDecodeJs uses unless told: 'simd' where WebAssembly SIMD validates. */
export const defaultJsKernel: JsKernel = simdSupported ? 'simd' : 'scalar';

/** x [B, K] → out [B, N]: a transposed [N, K] array (scalar) or a matrix in the SIMD memory. */
interface Mat { K: number; N: number; wT?: Float32Array; simd?: SimdMatrix }
/** Gains folded: wqkv [d → 3d], wo [d → d], w13 [d → 2m] (gate | up), w2 [m → d]. */
interface JsLayer { wqkv: Mat; wo: Mat; w13: Mat; w2: Mat }

export interface JsDecodeWeights {
  d: number; H: number; hd: number; m: number; V: number; eps: number; ropeBase: number;
  kernel: JsKernel;
  /** [V, d]: token embeddings (the gather). */
  embed: Float32Array;
  /** [d → V]: the tied head with the final norm's gain folded in. */
  head: Mat;
  layers: JsLayer[];
  /** SIMD only: the memory holding the matrices, where it ends, and how many states were started. */
  mem?: SimdMemory; weightsEnd: number; epoch: number;
  /** Set by releaseDecodeJs: these weights and their states are done. */
  released: boolean;
}

type Getter = (name: string) => tf.Tensor;
/** The SIMD path keeps attention's q and softmax numerators in Float64Arrays; the rest is Float32Arrays. */
export type Floats = Float32Array | Float64Array;

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
export function prepareDecodeJs(c: ModelConfig, p: Getter, kernel: JsKernel = defaultJsKernel): JsDecodeWeights {
  const d = c.text.dim;
  const m = c.text.mlp;
  const V = c.vocabSize;
  const read = (n: string) => p(n).dataSync() as Float32Array;
  // The SIMD kernel writes rows of 8-column blocks; the step's buffers are packed, so d and m must fill them.
  if (kernel === 'simd' && (!simdSupported || d % 8 !== 0 || m % 8 !== 0 || (d / c.text.heads) % 8 !== 0)) {
    throw new Error(`prepareDecodeJs: the SIMD kernel needs WebAssembly SIMD (${simdSupported ? 'present' : 'absent'}) and dim ${d}, mlp ${m}, head dim ${d / c.text.heads} multiples of 8; use kernel 'scalar'`);
  }
  const mem = kernel === 'simd' ? new SimdMemory() : undefined;
  /** w [K, N] (x @ w) with row k scaled by g[k]. */
  const mat = (w: ArrayLike<number>, K: number, N: number, g?: ArrayLike<number>): Mat =>
    mem ? { K, N, simd: mem.putMatrix(w, K, N, g, 'f32b') } : { K, N, wT: transposeScaled(w, K, N, g) };
  const layers = Array.from({ length: c.text.layers }, (_, l): JsLayer => {
    const pre = `text.block.${l}`;
    return {
      wqkv: mat(read(`${pre}.wqkv`), d, 3 * d, read(`${pre}.norm1`)),
      wo: mat(read(`${pre}.wo`), d, d),
      w13: mat(read(`${pre}.w13`), d, 2 * m, read(`${pre}.norm2`)),
      w2: mat(read(`${pre}.w2`), m, d),
    };
  });
  const embed = Float32Array.from(read('text.embed'));
  // The head is embedᵀ: [d, V] in x @ w layout, so its transpose is embed itself.
  const headKN = new Float32Array(d * V);
  for (let j = 0; j < V; j++) for (let k = 0; k < d; k++) headKN[k * V + j] = embed[j * d + k];
  const head = mat(headKN, d, V, read('text.norm'));
  return { d, H: c.text.heads, hd: d / c.text.heads, m, V, eps: c.normEps, ropeBase: c.ropeBase, kernel, embed, head, layers, mem, weightsEnd: mem?.mark() ?? 0, epoch: 0, released: false };
}

/**
 * out [B, N] = x [B, K] @ wT [N, K]ᵀ. Blocks of 4 rows × 2 columns share every load; an odd last
 * column is computed twice (v = w) and written once, leftover rows take a 1 × 2 loop.
 */
function matmulT(x: Floats, B: number, K: number, wT: Float32Array, N: number, out: Float32Array): void {
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
function rmsScale(x: Float32Array, B: number, d: number, eps: number, out: Floats): void {
  for (let b = 0; b < B; b++) {
    const o = b * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) out[o + i] = Math.fround(x[o + i] * r); // a float32 value in either array type
  }
}

/** out [B, N] = x [B, K] · M on the weights' kernel (SIMD: x and out are views of w.mem, out [B, Np]). */
function project(w: JsDecodeWeights, M: Mat, x: Floats, B: number, out: Float32Array): void {
  if (M.simd) w.mem!.matmul(M.simd, x, B, out);
  else matmulT(x, B, M.K, M.wT!, M.N, out);
}

/** The KV cache and every scratch buffer of a step, allocated once. */
export interface JsDecodeState {
  B: number; maxLen: number;
  /** Positions filled so far (image tokens + prompt + decoded). */
  length: number;
  /**
   * Per layer. Scalar: keys and values [B, H, maxLen, hd]. SIMD: keys transposed, [B, H, hd, P] with
   * P = maxLen rounded up to 8 (a head's scores are then one matmul), values [B, H, maxLen, hd].
   */
  k: Float32Array[]; v: Float32Array[]; P: number;
  /**
   * SIMD: every array but x and logits is a view of the weights' memory, valid for this epoch only;
   * attention's x inputs (q, e) and its output (mix) are Float64Arrays, its caches float32.
   */
  epoch: number;
  x: Float32Array; h: Floats; qkv: Float32Array; ctx: Floats; y: Float32Array;
  /** [B, 2m] gate | up, and [B, m] silu(gate) · up. */
  gu: Float32Array; act: Floats;
  /** SIMD: one head's q [hd], its scores then softmax numerators [P], its unnormalised context [hd]. */
  q: Float64Array; e: Float64Array; mix: Float64Array;
  scores: Float64Array; acc: Float64Array; cos: Float64Array; sin: Float64Array;
  /** [B, V] (scalar) or [B, Vp] padded (SIMD, compacted into logits). */
  headOut: Float32Array;
  /** [B, V]; overwritten by the next step. */
  logits: Float32Array;
}

/**
 * [n, bytes] → views of `mem` (Float32Array or Float64Array), allocated all first (growing the memory
 * detaches earlier views); without mem, Float32Arrays (the scalar path keeps everything float32).
 */
function allocAll(mem: SimdMemory | undefined, specs: Array<[number, 4 | 8]>): Floats[] {
  if (!mem) return specs.map(([n]) => new Float32Array(n));
  const offs = specs.map(([n, bytes]) => mem.alloc(n, bytes));
  return offs.map((o, i) => (specs[i][1] === 8 ? mem.view64(o, specs[i][0]) : mem.view(o, specs[i][0])));
}

/**
 * Takes over a prefill's keys/values ([B, H, length, hd] tensors, read once) with room up to maxLen
 * positions. With the SIMD kernel, starting a state ends the previous one of the same weights (their
 * buffers share the memory): one generation group at a time, as generate() runs them.
 */
export function startDecodeJs(w: JsDecodeWeights, prefill: KvEntry[], length: number, B: number, maxLen: number): JsDecodeState {
  const { d, H, hd, m } = w;
  const L = w.layers.length;
  const mem = w.mem;
  if (w.released) throw new Error('startDecodeJs: these weights were released (releaseDecodeJs); prepare them again');
  if (mem) { mem.release(w.weightsEnd); w.epoch++; }
  const P = mem ? Math.ceil(maxLen / 8) * 8 : maxLen;
  const cache = B * H * hd * P;
  const f = (n: number): [number, 4] => [n, 4];
  const f64 = (n: number): [number, 8] => [n, 8];
  const [h, qkv, ctx, y, gu, act, headOut, q, e, mix, ...kv] = allocAll(mem, [
    f(B * d), f(B * 3 * d), f(B * d), f(B * d), f(B * 2 * m), f(B * m), f(B * (w.head.simd?.Np ?? w.V)), f64(hd), f64(P), f64(hd),
    ...new Array<[number, 4]>(2 * L).fill(f(cache)),
  ]);
  prefill.forEach((entry, l) => {
    for (const t of [entry.k, entry.v]) {
      if (t.shape.join() !== [B, H, length, hd].join()) throw new Error(`startDecodeJs: prefill keys/values of shape [${t.shape}], expected [${[B, H, length, hd]}]`);
    }
    const ks = entry.k.dataSync() as Float32Array;
    const vs = entry.v.dataSync() as Float32Array;
    const K = kv[l];
    for (let bh = 0; bh < B * H; bh++) {
      kv[L + l].set(vs.subarray(bh * length * hd, (bh + 1) * length * hd), bh * maxLen * hd);
      if (!mem) K.set(ks.subarray(bh * length * hd, (bh + 1) * length * hd), bh * maxLen * hd);
      else for (let t = 0; t < length; t++) for (let i = 0; i < hd; i++) K[(bh * hd + i) * P + t] = ks[(bh * length + t) * hd + i];
    }
  });
  return {
    B, maxLen, length, P, epoch: w.epoch, k: kv.slice(0, L) as Float32Array[], v: kv.slice(L) as Float32Array[],
    x: new Float32Array(B * d), h, qkv: qkv as Float32Array, ctx, y: y as Float32Array, gu: gu as Float32Array, act,
    headOut: headOut as Float32Array, q: q as Float64Array, e: e as Float64Array, mix: mix as Float64Array,
    scores: new Float64Array(maxLen), acc: new Float64Array(hd), cos: new Float64Array(hd / 2), sin: new Float64Array(hd / 2),
    logits: mem ? new Float32Array(B * w.V) : headOut as Float32Array,
  };
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
  if (w.released) throw new Error('decodeStepJs: the weights of this state were released (releaseDecodeJs)');
  if (s.epoch !== w.epoch) throw new Error(`decodeStepJs: this state (epoch ${s.epoch}) was ended by a later startDecodeJs (epoch ${w.epoch}) on the same SIMD weights`);
  for (let i = 0; i < hd / 2; i++) {
    const angle = pos / Math.pow(w.ropeBase, (2 * i) / hd);
    s.cos[i] = Math.cos(angle);
    s.sin[i] = Math.sin(angle);
  }
  const { x, h, qkv, ctx, y, gu, act } = s;
  for (let b = 0; b < B; b++) {
    const t = tokens[b];
    if (!(t >= 0 && t < w.V)) throw new Error(`decodeStepJs: token ${t} of row ${b} is outside the vocabulary 0..${w.V - 1}`);
    x.set(w.embed.subarray(t * d, (t + 1) * d), b * d);
  }
  for (let l = 0; l < w.layers.length; l++) {
    const L = w.layers[l];
    rmsScale(x, B, d, w.eps, h);
    project(w, L.wqkv, h, B, qkv);
    if (w.mem) attendSimd(w, s, l, pos);
    else attend(w, s, l, pos);
    project(w, L.wo, ctx, B, y);
    for (let i = 0; i < B * d; i++) x[i] += y[i];
    rmsScale(x, B, d, w.eps, h);
    project(w, L.w13, h, B, gu);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < m; i++) { const g = gu[b * 2 * m + i]; act[b * m + i] = Math.fround((g / (1 + Math.exp(-g))) * gu[b * 2 * m + m + i]); }
    }
    project(w, L.w2, act, B, y);
    for (let i = 0; i < B * d; i++) x[i] += y[i];
  }
  rmsScale(x, B, d, w.eps, h);
  project(w, w.head, h, B, s.headOut);
  if (s.headOut !== s.logits) {
    const Np = w.head.simd!.Np;
    for (let b = 0; b < B; b++) s.logits.set(s.headOut.subarray(b * Np, b * Np + w.V), b * w.V);
  }
  s.length = pos + 1;
  return s.logits;
}

/**
 * Ends the weights and their states. SIMD: their memory goes to the next prepareDecodeJs, whose
 * weights and cache then land on pages already mapped (wasm-simd.ts's recycle); without this call
 * each prepare starts on a fresh memory. generate() releases its weights when a call is done.
 */
export function releaseDecodeJs(w: JsDecodeWeights): void {
  w.released = true;
  w.mem?.recycle();
}
