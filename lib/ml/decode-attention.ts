// Attention of the plain-JS decode step (decode-js.ts) for one layer at one new position: RoPE on
// q and k, k and v into the cache, causal softmax attention of every (row, head) over positions
// 0..pos into the state's ctx. Two versions with the same arithmetic in the same order (double sums
// in key order, float32 roundings where the scalar path stores into a Float32Array): `attend` in JS
// loops, `attendSimd` on wasm-simd.ts's f64w32 kernel (float32 cache, f64x2 sums) with keys cached
// transposed.
// Exports: attend, attendSimd.
import type { Floats, JsDecodeState, JsDecodeWeights } from './decode-js';

/** scores[t] = scale · q·K[base + t·hd ..] for t < S, four keys per pass over q (independent sums). */
function scoreKeys(qkv: Float32Array, q: number, K: Floats, base: number, hd: number, S: number, scale: number, scores: Float64Array): void {
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

/** acc = Σ_t e[t] · V[base + t·hd ..] (unnormalised, summed in t order), four values per pass over acc. */
function mixValues(e: Float64Array, V: Floats, base: number, hd: number, S: number, acc: Float64Array): void {
  acc.fill(0);
  let t = 0;
  for (; t + 4 <= S; t += 4) {
    const v0 = base + t * hd, v1 = v0 + hd, v2 = v1 + hd, v3 = v2 + hd;
    const e0 = e[t], e1 = e[t + 1], e2 = e[t + 2], e3 = e[t + 3];
    // one term at a time, in t order: the SIMD kernel's order, so both give the same bits
    for (let i = 0; i < hd; i++) { let a = acc[i]; a += e0 * V[v0 + i]; a += e1 * V[v1 + i]; a += e2 * V[v2 + i]; a += e3 * V[v3 + i]; acc[i] = a; }
  }
  for (; t < S; t++) for (let i = 0; i < hd; i++) acc[i] += e[t] * V[base + t * hd + i];
}

/** Rotate-half RoPE on q (part 0) and k (part 1) of head hh in the qkv row at `row`: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin). */
function rope(qkv: Float32Array, row: number, d: number, hh: number, hd: number, cos: Float64Array, sin: Float64Array): void {
  const half = hd / 2;
  for (let part = 0; part < 2; part++) {
    const o = row + part * d + hh * hd;
    for (let i = 0; i < half; i++) {
      const x1 = qkv[o + i], x2 = qkv[o + i + half];
      qkv[o + i] = x1 * cos[i] - x2 * sin[i];
      qkv[o + i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

/** e[t] ← exp(e[t] − max) for t < S (the softmax's numerator, overflow-safe); returns their sum. */
function expShifted(e: Float64Array, S: number): number {
  let max = -Infinity;
  for (let t = 0; t < S; t++) if (e[t] > max) max = e[t];
  let z = 0;
  for (let t = 0; t < S; t++) { e[t] = Math.exp(e[t] - max); z += e[t]; }
  return z;
}

/**
 * RoPE on q and k of every head in s.qkv, k and v into the cache at `pos`, then causal attention of
 * each (row, head) over positions 0..pos into s.ctx [B, d]. q·k is scaled by 1/sqrt(hd).
 */
export function attend(w: JsDecodeWeights, s: JsDecodeState, l: number, pos: number): void {
  const { d, H, hd } = w;
  const S = pos + 1;
  const scale = 1 / Math.sqrt(hd);
  const { qkv, cos, sin, scores, acc, ctx } = s;
  const K = s.k[l];
  const Vc = s.v[l];
  for (let b = 0; b < s.B; b++) {
    const row = b * 3 * d;
    for (let hh = 0; hh < H; hh++) {
      rope(qkv, row, d, hh, hd, cos, sin);
      const q = row + hh * hd;
      const base = (b * H + hh) * s.maxLen * hd;
      const at = base + pos * hd;
      for (let i = 0; i < hd; i++) { K[at + i] = qkv[row + d + hh * hd + i]; Vc[at + i] = qkv[row + 2 * d + hh * hd + i]; }
      scoreKeys(qkv, q, K, base, hd, S, scale, scores);
      const z = expShifted(scores, S);
      mixValues(scores, Vc, base, hd, S, acc);
      for (let i = 0; i < hd; i++) ctx[b * d + hh * hd + i] = acc[i] / z; // float32 ctx rounds
    }
  }
}

/**
 * attend on the SIMD kernels, the same arithmetic in the same order: with keys cached transposed, a
 * head's scores are one [1, hd] · [hd, S'] matmul (S' = S rounded up to 8; the extra columns are
 * ignored) and its context one [1, S] · [S, hd], both in doubles like scoreKeys and mixValues.
 */
export function attendSimd(w: JsDecodeWeights, s: JsDecodeState, l: number, pos: number): void {
  const { d, H, hd } = w;
  const { f64w32 } = w.mem!.kernels;
  const S = pos + 1;
  const S8 = Math.ceil(S / 8) * 8;
  const scale = 1 / Math.sqrt(hd);
  const { qkv, cos, sin, ctx, q, e, mix, P } = s;
  const K = s.k[l];
  const Vc = s.v[l];
  for (let b = 0; b < s.B; b++) {
    const row = b * 3 * d;
    for (let hh = 0; hh < H; hh++) {
      rope(qkv, row, d, hh, hd, cos, sin);
      const kt = (b * H + hh) * hd * P;
      const vb = (b * H + hh) * s.maxLen * hd;
      for (let i = 0; i < hd; i++) {
        q[i] = qkv[row + hh * hd + i];
        K[kt + i * P + pos] = qkv[row + d + hh * hd + i];
        Vc[vb + pos * hd + i] = qkv[row + 2 * d + hh * hd + i];
      }
      f64w32(q.byteOffset, 1, hd, K.byteOffset + 4 * kt, S8, P, e.byteOffset, S8);
      for (let t = 0; t < S; t++) e[t] *= scale;
      const z = expShifted(e, S);
      f64w32(e.byteOffset, 1, S, Vc.byteOffset + 4 * vb, hd, hd, mix.byteOffset, hd);
      for (let i = 0; i < hd; i++) ctx[b * d + hh * hd + i] = Math.fround(mix[i] / z);
    }
  }
}
