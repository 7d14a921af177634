// The decoding fast path: one new token per sequence against a KV cache. Per-kernel costs dominate
// a one-token step (tens of µs per TF.js op whatever the backend; on wasm also shape-specific setup,
// slow broadcasting and split kernels, re-packing a freshly transposed head matrix), so once per
// generate() call `prepareDecode` derives weights laid out for it: RMSNorm gains folded into the
// following matrices, the head pre-transposed with the final gain folded in, gate/up as separate
// matrices (no split), and q/k/v *with their rotate-half partners* interleaved in one [d, 6d]
// matrix. A step then gets RoPE'd q, k and plain v from one matmul, one multiply by a per-position
// table (cos·s, sin·s | cos, sin | 1, 0 pairs), a sum over each pair and one split: 5 kernels
// where separate projections took 14. The partners are signed copies of columns, so the numbers are
// the same as the full forward's (tested against it and pinned in kernel-pins.test.ts).
// Exports: DecodeWeights, prepareDecode, disposeDecode, decodeOneStep.
import * as tf from '@tensorflow/tfjs';
import type { KvEntry } from './model-layers';
import type { ModelConfig } from './model-config';

/** wqkvr [d, 6d]: column 2j = column j of the (gain-folded) wqkv, column 2j+1 its rotate-half partner (0 for v). */
export interface DecodeLayer { wqkvr: tf.Tensor2D; wo: tf.Tensor2D; w1: tf.Tensor2D; w3: tf.Tensor2D; w2: tf.Tensor2D }
export interface DecodeWeights { embed: tf.Tensor2D; layers: DecodeLayer[]; headT: tf.Tensor2D }

type Getter = (name: string) => tf.Tensor;

/** Derived weights for decoding (kept tensors; dispose with disposeDecode). */
export function prepareDecode(c: ModelConfig, p: Getter): DecodeWeights {
  const d = c.text.dim;
  const m = c.text.mlp;
  const H = c.text.heads;
  return tf.tidy(() => {
    const colSlice = (w: tf.Tensor, from: number, n: number) => tf.slice(w, [0, from], [d, n]) as tf.Tensor2D;
    const layers = Array.from({ length: c.text.layers }, (_, l) => {
      const pre = `text.block.${l}`;
      const g1 = p(`${pre}.norm1`).reshape([d, 1]);
      const g2 = p(`${pre}.norm2`).reshape([d, 1]);
      const wqkv = tf.mul(p(`${pre}.wqkv`), g1) as tf.Tensor2D;
      const w13 = tf.mul(p(`${pre}.w13`), g2);
      return { wqkvr: withPartners(wqkv, H), wo: p(`${pre}.wo`).clone() as tf.Tensor2D, w1: colSlice(w13, 0, m), w3: colSlice(w13, m, m), w2: p(`${pre}.w2`).clone() as tf.Tensor2D };
    });
    const headT = tf.mul(tf.transpose(p('text.embed')), p('text.norm').reshape([d, 1])) as tf.Tensor2D;
    return { embed: p('text.embed').clone() as tf.Tensor2D, layers, headT };
  });
}

/**
 * wqkv [d, 3d] → [d, 6d] with column 2j = column j and column 2j+1 its rotate-half partner: for q
 * and k, per head, -column (i + hd/2) for i < hd/2 and +column (i - hd/2) above; 0 for v. Built in
 * JS (once per generation): exact, and no interleaving kernels (wasm concatenates that slowly).
 */
function withPartners(wqkv: tf.Tensor2D, H: number): tf.Tensor2D {
  const [d, n] = wqkv.shape;
  const hd = d / H;
  const w = wqkv.dataSync();
  const out = new Float32Array(d * 2 * n);
  for (let r = 0; r < d; r++) {
    for (let j = 0; j < n; j++) {
      out[r * 2 * n + 2 * j] = w[r * n + j];
      if (j >= 2 * d) continue;
      const i = j % hd;
      out[r * 2 * n + 2 * j + 1] = i < hd / 2 ? -w[r * n + j + hd / 2] : w[r * n + j - hd / 2];
    }
  }
  return tf.tensor2d(out, [d, 2 * n]);
}

export function disposeDecode(w: DecodeWeights): void {
  tf.dispose([w.embed, w.headT, ...w.layers.flatMap((l) => Object.values(l))]);
}

// Small LRU of per-(position, batch) tables; one generation touches a few hundred entries.
const tables = new Map<string, tf.Tensor2D>();
const MAX_TABLES = 1024;

/**
 * [B, 6d] table for one position, matching wqkvr's interleaved columns: (cos·s, sin·s) for q
 * (s = 1/sqrt(hd), the score scale), (cos, sin) for k, (1, 0) for v. Built in JS (no kernels), kept.
 */
function stepTable(pos: number, B: number, H: number, hd: number, base: number): tf.Tensor2D {
  const key = `${pos}:${B}:${H}:${hd}:${base}`;
  const hit = tables.get(key);
  if (hit) {
    tables.delete(key);
    tables.set(key, hit);
    return hit;
  }
  const d = H * hd;
  const s = 1 / Math.sqrt(hd);
  const row = new Float32Array(6 * d);
  for (let j = 0; j < 3 * d; j++) {
    const part = Math.floor(j / d);
    const i = j % d;
    const angle = pos / Math.pow(base, (2 * (i % hd % (hd / 2))) / hd);
    const [cos, sin] = part === 2 ? [1, 0] : [Math.cos(angle), Math.sin(angle)];
    const scale = part === 0 ? s : 1;
    row[2 * j] = cos * scale;
    row[2 * j + 1] = sin * scale;
  }
  const out = new Float32Array(B * 6 * d);
  for (let b = 0; b < B; b++) out.set(row, b * 6 * d);
  // Kept: tables outlive the tidy scope of the step that first needs them.
  const t = tf.keep(tf.tensor2d(out, [B, 6 * d]));
  tables.set(key, t);
  while (tables.size > MAX_TABLES) {
    const [oldest, v] = tables.entries().next().value as [string, tf.Tensor2D];
    tables.delete(oldest);
    v.dispose();
  }
  return t;
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
  const table = stepTable(pos, B, H, hd, c.ropeBase);
  let x = tf.gather(w.embed, tokens) as tf.Tensor2D;
  const layers: KvEntry[] = [];
  w.layers.forEach((L, l) => {
    // [B, 6d] → pairs (x, partner) · (cos, sin) summed → q (scaled), k with RoPE, v; each [B, H, 1, hd]
    // (a rank-4 split: wasm slices rank 5 on a slow generic path).
    const pairs = tf.mul(tf.matMul(rmsScale(x, c.normEps), L.wqkvr), table).reshape([B, 3 * H, 1, hd, 2]);
    const [q, k, v] = tf.split(tf.sum(pairs, -1), 3, 1) as tf.Tensor4D[];
    const K = tf.concat([cache[l].k, k], 2) as tf.Tensor4D;
    const V = tf.concat([cache[l].v, v], 2) as tf.Tensor4D;
    const ctx = tf.matMul(tf.softmax(tf.matMul(q, K, false, true)), V).reshape([B, d]) as tf.Tensor2D;
    x = tf.add(x, tf.matMul(ctx, L.wo)) as tf.Tensor2D;
    const h2 = rmsScale(x, c.normEps);
    const gate = tf.matMul(h2, L.w1);
    x = tf.add(x, tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.matMul(h2, L.w3)) as tf.Tensor2D, L.w2)) as tf.Tensor2D;
    layers.push({ k: K, v: V });
  });
  return { logits: tf.matMul(rmsScale(x, c.normEps), w.headT), layers };
}
