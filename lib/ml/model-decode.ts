// The decoding fast path: one new token per sequence against a KV cache. Per-kernel costs dominate
// a one-token step on wasm (shape-specific setup, slow broadcasting and split kernels, re-packing a
// freshly transposed head matrix), so once per generate() call `prepareDecode` derives weights laid
// out for it — q/k/v and gate/up projections as separate matrices (no split), RMSNorm gains folded
// into the following matrices, the head pre-transposed with the final gain folded in — and each step
// uses 2-D activations and same-shape RoPE tables. Same maths as VlmModel's full forward (tested).
// Exports: DecodeWeights, prepareDecode, disposeDecode, decodeOneStep.
import * as tf from '@tensorflow/tfjs';
import type { KvEntry } from './model-layers';
import type { ModelConfig } from './model-config';

export interface DecodeLayer { wq: tf.Tensor2D; wk: tf.Tensor2D; wv: tf.Tensor2D; wo: tf.Tensor2D; w1: tf.Tensor2D; w3: tf.Tensor2D; w2: tf.Tensor2D }
export interface DecodeWeights { embed: tf.Tensor2D; layers: DecodeLayer[]; headT: tf.Tensor2D }

type Getter = (name: string) => tf.Tensor;

/** Derived weights for decoding (kept tensors; dispose with disposeDecode). */
export function prepareDecode(c: ModelConfig, p: Getter): DecodeWeights {
  const d = c.text.dim;
  const m = c.text.mlp;
  return tf.tidy(() => {
    const colSlice = (w: tf.Tensor, from: number, n: number) => tf.slice(w, [0, from], [d, n]) as tf.Tensor2D;
    const layers = Array.from({ length: c.text.layers }, (_, l) => {
      const pre = `text.block.${l}`;
      const g1 = p(`${pre}.norm1`).reshape([d, 1]);
      const g2 = p(`${pre}.norm2`).reshape([d, 1]);
      const wqkv = tf.mul(p(`${pre}.wqkv`), g1);
      const w13 = tf.mul(p(`${pre}.w13`), g2);
      return {
        wq: colSlice(wqkv, 0, d), wk: colSlice(wqkv, d, d), wv: colSlice(wqkv, 2 * d, d), wo: p(`${pre}.wo`).clone() as tf.Tensor2D,
        w1: colSlice(w13, 0, m), w3: colSlice(w13, m, m), w2: p(`${pre}.w2`).clone() as tf.Tensor2D,
      };
    });
    const headT = tf.mul(tf.transpose(p('text.embed')), p('text.norm').reshape([d, 1])) as tf.Tensor2D;
    return { embed: p('text.embed').clone() as tf.Tensor2D, layers, headT };
  });
}

export function disposeDecode(w: DecodeWeights): void {
  tf.dispose([w.embed, w.headT, ...w.layers.flatMap((l) => Object.values(l))]);
}

// Small LRU of per-(position, batch) tables; one generation touches a few hundred entries.
const tables = new Map<string, tf.Tensor2D[]>();
const MAX_TABLES = 1024;

/** [B, d] tables: cos·s, sin·s for q (s = 1/sqrt(hd)), cos and sin for k. */
function stepTables(pos: number, B: number, H: number, hd: number, base: number): tf.Tensor2D[] {
  const key = `${pos}:${B}:${H}:${hd}:${base}`;
  const hit = tables.get(key);
  if (hit) {
    tables.delete(key);
    tables.set(key, hit);
    return hit;
  }
  const d = H * hd;
  const s = 1 / Math.sqrt(hd);
  const make = (f: (a: number) => number, scale: number) => {
    const row = new Float32Array(d);
    for (let i = 0; i < d; i++) row[i] = f(pos / Math.pow(base, (2 * (i % hd % (hd / 2))) / hd)) * scale;
    const out = new Float32Array(B * d);
    for (let b = 0; b < B; b++) out.set(row, b * d);
    return tf.tensor2d(out, [B, d]);
  };
  // Kept: tables outlive the tidy scope of the step that first needs them.
  const t = [make(Math.cos, s), make(Math.sin, s), make(Math.cos, 1), make(Math.sin, 1)].map((x) => tf.keep(x));
  tables.set(key, t);
  while (tables.size > MAX_TABLES) {
    const [oldest, v] = tables.entries().next().value as [string, tf.Tensor2D[]];
    tables.delete(oldest);
    tf.dispose(v);
  }
  return t;
}

const rotations = new Map<string, tf.Tensor2D>();

/** Block-diagonal rotate-half [d, d] (one stable tensor per layout, so its packing is reused). */
function rotation(H: number, hd: number): tf.Tensor2D {
  const key = `${H}:${hd}`;
  let r = rotations.get(key);
  if (!r || r.isDisposed) {
    const d = H * hd;
    const m = new Float32Array(d * d);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = h * hd + i;
        const b = a + hd / 2;
        m[b * d + a] = -1;
        m[a * d + b] = 1;
      }
    }
    r = tf.keep(tf.tensor2d(m, [d, d]));
    rotations.set(key, r);
  }
  return r;
}

function rmsScale(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))) as tf.Tensor2D;
}

/** tokens [B] at absolute position `pos` → logits [B, V] and each layer's extended keys/values. */
export function decodeOneStep(c: ModelConfig, w: DecodeWeights, tokens: tf.Tensor1D, pos: number, cache: KvEntry[]): { logits: tf.Tensor2D; layers: KvEntry[] } {
  const B = tokens.shape[0];
  const H = c.text.heads;
  const d = c.text.dim;
  const hd = d / H;
  const [cq, sq, ck, sk] = stepTables(pos, B, H, hd, c.ropeBase);
  const rot = rotation(H, hd);
  const heads = (t: tf.Tensor) => t.reshape([B, H, 1, hd]) as tf.Tensor4D;
  let x = tf.gather(w.embed, tokens) as tf.Tensor2D;
  const layers: KvEntry[] = [];
  w.layers.forEach((L, l) => {
    const h = rmsScale(x, c.normEps);
    const q = tf.matMul(h, L.wq);
    const k = tf.matMul(h, L.wk);
    const qr = tf.add(tf.mul(q, cq), tf.mul(tf.matMul(q, rot), sq));
    const kr = tf.add(tf.mul(k, ck), tf.mul(tf.matMul(k, rot), sk));
    const K = tf.concat([cache[l].k, heads(kr)], 2) as tf.Tensor4D;
    const V = tf.concat([cache[l].v, heads(tf.matMul(h, L.wv))], 2) as tf.Tensor4D;
    const ctx = tf.matMul(tf.softmax(tf.matMul(heads(qr), K, false, true)), V).reshape([B, d]) as tf.Tensor2D;
    x = tf.add(x, tf.matMul(ctx, L.wo)) as tf.Tensor2D;
    const h2 = rmsScale(x, c.normEps);
    const gate = tf.matMul(h2, L.w1);
    x = tf.add(x, tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.matMul(h2, L.w3)) as tf.Tensor2D, L.w2)) as tf.Tensor2D;
    layers.push({ k: K, v: V });
  });
  return { logits: tf.matMul(rmsScale(x, c.normEps), w.headT), layers };
}
