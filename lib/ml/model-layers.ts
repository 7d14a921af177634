// The transformer pieces as pure functions of tensors: RMSNorm, RoPE, attention (with an optional
// KV cache and causal mask), SwiGLU, and the constant tables they need. Everything here has a
// gradient on every backend: no stridedSlice, gatherND or bandPart; masks and RoPE tables are
// constants built in JS; the rotate-half of RoPE is a matmul with a constant ±1 matrix.
// Kernel count matters as much as FLOPs (each TF.js op costs tens of µs at these sizes), so the
// model keeps its residual stream 2-D ([B·T, d]: no reshapes around matmuls), and q/k/v leave the
// fused projection through one transpose to heads-first [3H, B, T, hd] and one contiguous split,
// with RoPE applied to all of them in one pass (v's tables are cos 1, sin 0, so v passes through
// unchanged, bit for bit). Rank-5 transposes and slices are avoided: wasm runs them on slow paths.
// Exports: rmsNorm, swiglu, attention, attention2d, linear, ropeTables, applyRope, rotateHalfMatrix,
//          causalMask, KvEntry, naiveAttention (reference for tests).
import * as tf from '@tensorflow/tfjs';

export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  const inDim = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(x.reshape([-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D);
  return y.reshape([...lead, w.shape[1] as number]);
}

export function rmsNorm(x: tf.Tensor, g: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), g);
}

/** SwiGLU MLP with the gate and up projections fused into one [d, 2m] weight. */
export function swiglu(x: tf.Tensor, w13: tf.Tensor, w2: tf.Tensor): tf.Tensor {
  const h = linear(x, w13);
  const [gate, up] = tf.split(h, 2, -1);
  return linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), w2);
}

const constCache = new Map<string, tf.Tensor>();

/** Constants are kept for the process's life (tf.keep), keyed by their parameters. */
function cached(key: string, make: () => tf.Tensor): tf.Tensor {
  let t = constCache.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.tidy(make));
    constCache.set(key, t);
  }
  return t;
}

/** R with (x @ R) = rotate_half(x) = [-x2, x1] for x = [x1, x2] split in halves. */
export function rotateHalfMatrix(hd: number): tf.Tensor2D {
  return cached(`rot:${hd}`, () => {
    const h = hd / 2;
    const r = new Float32Array(hd * hd);
    for (let i = 0; i < h; i++) {
      r[(i + h) * hd + i] = -1;
      r[i * hd + (i + h)] = 1;
    }
    return tf.tensor2d(r, [hd, hd]);
  }) as tf.Tensor2D;
}

/** cos and sin tables [len, hd] for positions offset..offset+len-1. */
export function ropeTables(offset: number, len: number, hd: number, base: number): [tf.Tensor2D, tf.Tensor2D] {
  const make = (fn: (x: number) => number) => () => {
    const h = hd / 2;
    const out = new Float32Array(len * hd);
    for (let p = 0; p < len; p++) {
      for (let i = 0; i < h; i++) {
        const angle = (offset + p) / Math.pow(base, (2 * i) / hd);
        out[p * hd + i] = fn(angle);
        out[p * hd + i + h] = fn(angle);
      }
    }
    return tf.tensor2d(out, [len, hd]);
  };
  const key = `${offset}:${len}:${hd}:${base}`;
  return [cached(`cos:${key}`, make(Math.cos)) as tf.Tensor2D, cached(`sin:${key}`, make(Math.sin)) as tf.Tensor2D];
}

/** Applies RoPE to x [B, H, T, hd] for positions offset..offset+T-1. */
export function applyRope(x: tf.Tensor4D, offset: number, base: number): tf.Tensor4D {
  const [B, H, T, hd] = x.shape;
  const [cos, sin] = ropeTables(offset, T, hd, base);
  const rot = tf.matMul(x.reshape([B * H * T, hd]) as tf.Tensor2D, rotateHalfMatrix(hd)).reshape([B, H, T, hd]);
  return tf.add(tf.mul(x, cos), tf.mul(rot, sin)) as tf.Tensor4D;
}

/** RoPE tables [3H, 1, T, hd] for stacked q/k/v heads: cos and sin for q and k heads; 1 and 0 for v. */
function qkvRopeTables(offset: number, T: number, H: number, hd: number, base: number): [tf.Tensor, tf.Tensor] {
  const make = (which: 'cos' | 'sin') => () => {
    const [cos, sin] = ropeTables(offset, T, hd, base);
    const t = (which === 'cos' ? cos : sin).reshape([1, 1, T, hd]);
    const pass = which === 'cos' ? tf.onesLike(t) : tf.zerosLike(t);
    return tf.concat([tf.tile(t, [2 * H, 1, 1, 1]), tf.tile(pass, [H, 1, 1, 1])], 0);
  };
  const key = `${offset}:${T}:${H}:${hd}:${base}`;
  return [cached(`qkvcos:${key}`, make('cos')), cached(`qkvsin:${key}`, make('sin'))];
}

/** Additive mask [T, S]: query i (at absolute position offset+i) sees keys 0..offset+i. */
export function causalMask(T: number, S: number, offset: number): tf.Tensor2D {
  return cached(`mask:${T}:${S}:${offset}`, () => {
    const m = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) if (j > offset + i) m[i * S + j] = -1e9;
    return tf.tensor2d(m, [T, S]);
  }) as tf.Tensor2D;
}

/** Keys and values of one layer so far, [B, H, S, hd] each. */
export interface KvEntry {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

export interface AttentionOpts {
  heads: number;
  causal: boolean;
  /** Absolute position of the first query (tokens already in the cache). */
  offset: number;
  /** RoPE base; undefined means no rotary embedding (the vision tower). */
  ropeBase?: number;
  cache?: KvEntry;
  /** Return the keys/values (prefill); training passes leave them out (no transposes). */
  keepKv?: boolean;
}

/**
 * x [B·T, d] → q, k, v [H, B, T, hd] (heads first: the split is then three contiguous copies, and
 * attention does not care in which order its batch axes come): one matmul with the fused [d, 3d]
 * weight, one rank-4 transpose, RoPE (when ropeBase is set) over all heads at once, one split.
 */
function projectQkv(x: tf.Tensor2D, wqkv: tf.Tensor, B: number, T: number, H: number, offset: number, ropeBase?: number) {
  const hd = x.shape[1] / H;
  let qkv = tf.transpose(tf.matMul(x, wqkv as tf.Tensor2D).reshape([B, T, 3 * H, hd]), [2, 0, 1, 3]);
  if (ropeBase !== undefined) {
    const [cos, sin] = qkvRopeTables(offset, T, H, hd, ropeBase);
    const rot = tf.matMul(qkv.reshape([3 * H * B * T, hd]) as tf.Tensor2D, rotateHalfMatrix(hd)).reshape([3 * H, B, T, hd]);
    qkv = tf.add(tf.mul(qkv, cos), tf.mul(rot, sin));
  }
  const [q, k, v] = tf.split(qkv, 3, 0) as tf.Tensor4D[];
  return { q, k, v };
}

/** [B, H, S, hd] ↔ [H, B, S, hd] (the same permutation both ways). */
const swapBH = (t: tf.Tensor4D) => tf.transpose(t, [1, 0, 2, 3]) as tf.Tensor4D;

/**
 * Multi-head attention over x [B·T, d] (rows of B sequences of T positions). Returns the output
 * [B·T, d] and, when `o.keepKv` or a cache is given, the layer's keys/values [B, H, S, hd] including
 * the cache (callers that keep a cache own those tensors). Internally heads come first.
 */
export function attention2d(x: tf.Tensor2D, B: number, T: number, wqkv: tf.Tensor, wo: tf.Tensor, o: AttentionOpts): { y: tf.Tensor2D; kv?: KvEntry } {
  const d = x.shape[1];
  const hd = d / o.heads;
  const qkv = projectQkv(x, wqkv, B, T, o.heads, o.offset, o.ropeBase);
  let { k, v } = qkv;
  if (o.cache) {
    k = tf.concat([swapBH(o.cache.k), k], 2) as tf.Tensor4D;
    v = tf.concat([swapBH(o.cache.v), v], 2) as tf.Tensor4D;
  }
  const S = k.shape[2];
  let scores = tf.matMul(tf.mul(qkv.q, 1 / Math.sqrt(hd)) as tf.Tensor4D, k, false, true);
  if (o.causal && !(T === 1 && S === o.offset + 1)) scores = tf.add(scores, causalMask(T, S, o.offset));
  const ctx = tf.matMul(tf.softmax(scores), v);
  const merged = tf.transpose(ctx, [1, 2, 0, 3]).reshape([B * T, d]) as tf.Tensor2D;
  const y = tf.matMul(merged, wo as tf.Tensor2D) as tf.Tensor2D;
  return o.keepKv || o.cache ? { y, kv: { k: swapBH(k), v: swapBH(v) } } : { y };
}

/** attention2d for x [B, T, d] → y [B, T, d], always with keys/values. */
export function attention(x: tf.Tensor3D, wqkv: tf.Tensor, wo: tf.Tensor, o: AttentionOpts): { y: tf.Tensor3D; kv: KvEntry } {
  const [B, T, d] = x.shape;
  const r = attention2d(x.reshape([B * T, d]), B, T, wqkv, wo, { ...o, keepKv: true });
  return { y: r.y.reshape([B, T, d]), kv: r.kv as KvEntry };
}

/** Reference attention by explicit loops over plain arrays (tests only). q,k,v: [T][d] per head. */
export function naiveAttention(q: number[][], k: number[][], v: number[][], causal: boolean): number[][] {
  const d = q[0].length;
  return q.map((qi, i) => {
    const s = k.map((kj, j) => (causal && j > i ? -Infinity : qi.reduce((a, x, t) => a + x * kj[t], 0) / Math.sqrt(d)));
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return Array.from({ length: v[0].length }, (_, c) => e.reduce((a, w, j) => a + (w / z) * v[j][c], 0));
  });
}
