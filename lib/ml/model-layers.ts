// The transformer pieces as pure functions of tensors: RMSNorm, RoPE, attention (with an optional
// KV cache and causal mask), SwiGLU, and the constant tables they need. Everything here has a
// gradient on every backend: no stridedSlice, gatherND or bandPart; masks and RoPE tables are
// constants built in JS; the rotate-half of RoPE is a matmul with a constant ±1 matrix.
// Exports: rmsNorm, swiglu, attention, linear, ropeTables, rotateHalfMatrix, causalMask, KvEntry,
//          naiveAttention (reference for tests).
import * as tf from '@tensorflow/tfjs';

export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
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
}

function splitHeads(x: tf.Tensor, B: number, T: number, H: number, hd: number): tf.Tensor4D {
  return tf.transpose(x.reshape([B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * Multi-head attention over x [B, T, d]. Returns the output [B, T, d] and the layer's keys/values
 * including the cache (callers that keep a cache own those tensors).
 */
export function attention(x: tf.Tensor3D, wqkv: tf.Tensor, wo: tf.Tensor, o: AttentionOpts): { y: tf.Tensor3D; kv: KvEntry } {
  const [B, T, d] = x.shape;
  const H = o.heads;
  const hd = d / H;
  const [q0, k0, v0] = tf.split(linear(x, wqkv), 3, -1);
  let q = splitHeads(q0, B, T, H, hd);
  let k = splitHeads(k0, B, T, H, hd);
  let v = splitHeads(v0, B, T, H, hd);
  if (o.ropeBase !== undefined) {
    q = applyRope(q, o.offset, o.ropeBase);
    k = applyRope(k, o.offset, o.ropeBase);
  }
  if (o.cache) {
    k = tf.concat([o.cache.k, k], 2) as tf.Tensor4D;
    v = tf.concat([o.cache.v, v], 2) as tf.Tensor4D;
  }
  const S = k.shape[2];
  let scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(hd)) as tf.Tensor4D, k, false, true);
  if (o.causal && !(T === 1 && S === o.offset + 1)) scores = tf.add(scores, causalMask(T, S, o.offset));
  const ctx = tf.matMul(tf.softmax(scores), v);
  const merged = tf.transpose(ctx, [0, 2, 1, 3]).reshape([B, T, d]);
  return { y: linear(merged, wo) as tf.Tensor3D, kv: { k, v } };
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
