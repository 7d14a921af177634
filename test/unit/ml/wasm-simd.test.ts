// The WebAssembly SIMD matmul (lib/ml/wasm-simd.ts): its hand-encoded module validates on this Node,
// it equals a float64 reference to ≤ 1e-5 relative (to Σ|x·w|, the scale of a dot product's rounding)
// on shapes whose rows, inner size and columns miss every block size (B = 1, 3, 32; K, N odd), each
// output does not depend on the block its row lands in (bit-identical to computing that row alone),
// reruns are bit-identical, K = 0 gives zeros, misuse is reported, and a recycled memory goes to the
// next SimdMemory only. The f64 kernel equals the
// scalar JS arithmetic exactly: double sums in k order, rounded once to float32, and so does the f64w32
// kernel (attention's: float32 weights) before the rounding; the f32b kernel (the projections') equals
// its JS emulation exactly: float32 sums of blocks of k, added in doubles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_K, SimdMemory, matmulSimd, simdSupported } from '../../../lib/ml/wasm-simd';
import { rngFor } from '../../../lib/rng';

const rand = (seed: number, n: number) => { const r = rngFor(seed, 'wasm-simd'); return Float32Array.from({ length: n }, () => r.next() * 2 - 1); };

test('the SIMD module validates here (Node 20 has WebAssembly SIMD)', () => {
  assert.equal(simdSupported, true);
});

test('matmulSimd = float64 reference (≤ 1e-5 relative to Σ|x·w|) on odd shapes, rows independent of their block', () => {
  let worst = 0;
  for (const B of [1, 3, 32]) {
    for (const [K, N] of [[1, 1], [7, 5], [33, 13], [130, 99], [64, 471]]) {
      const x = rand(B * 1000 + K, B * K);
      const w = rand(K * 1000 + N, K * N);
      const got = matmulSimd(x, B, K, w, N);
      assert.equal(got.length, B * N);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          let mag = 0;
          for (let k = 0; k < K; k++) { s += x[b * K + k] * w[k * N + j]; mag += Math.abs(x[b * K + k] * w[k * N + j]); }
          const err = Math.abs(got[b * N + j] - s) / Math.max(mag, 1e-30);
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-5, `B ${B}, K ${K}, N ${N}: out[${b}, ${j}] ${got[b * N + j]} vs ${s} (relative ${err})`);
        }
      }
      // Row b alone gives the same bits as row b inside a block of 4 (fixed summation order).
      const last = B - 1;
      assert.deepEqual(matmulSimd(x.subarray(last * K, B * K), 1, K, w, N), got.subarray(last * N, B * N));
      assert.deepEqual(matmulSimd(x, B, K, w, N), got);
    }
  }
  assert.ok(worst > 0, 'float32 sums equal float64 ones everywhere: the comparison is not exercising rounding');
});

/** The scalar reference: x [B, K] · w [K, N] with double sums in k order, stored into `out` (float32 rounds there). */
function doubleSums<T extends Float32Array | Float64Array>(x: Float32Array, w: Float32Array, B: number, K: number, N: number, out: T): T {
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[b * K + k] * w[k * N + j];
      out[b * N + j] = s;
    }
  }
  return out;
}

test('f64 kernel: bit-identical to double sums in k order rounded to float32, odd shapes', () => {
  for (const B of [1, 3, 32]) {
    for (const [K, N] of [[1, 1], [7, 5], [33, 13], [130, 99]]) {
      const x = rand(B * 1000 + K + 1, B * K);
      const w = rand(K * 1000 + N + 1, K * N);
      const got = matmulSimd(x, B, K, w, N, 'f64');
      assert.deepEqual(got, doubleSums(x, w, B, K, N, new Float32Array(B * N)), `B ${B}, K ${K}, N ${N}`);
    }
  }
});

test('f64w32 kernel (attention\'s): float32 weights, out bit-identical to double sums in k order (unrounded), odd K', () => {
  for (const B of [1, 3, 32]) {
    for (const [K, N] of [[1, 8], [7, 16], [33, 24], [130, 104]]) {
      const x = rand(B * 1000 + K + 3, B * K);
      const w = rand(K * 1000 + N + 3, K * N);
      const mem = new SimdMemory();
      const m = mem.putMatrix(w, K, N); // float32 storage, N already a multiple of 8
      const [xo, oo] = [mem.alloc(B * K, 8), mem.alloc(B * N, 8)];
      mem.view64(xo, B * K).set(x);
      mem.kernels.f64w32(xo, B, K, m.off, N, N, oo, N);
      assert.deepEqual(mem.view64(oo, B * N), doubleSums(x, w, B, K, N, new Float64Array(B * N)), `B ${B}, K ${K}, N ${N}`);
    }
  }
});

test('f32b kernel (the decode step\'s): bit-identical to float32 sums over blocks of BLOCK_K values of k, added in doubles', () => {
  for (const B of [1, 3, 32]) {
    for (const [K, N] of [[1, 1], [7, 5], [BLOCK_K, 13], [BLOCK_K + 1, 9], [130, 99], [352, 24]]) {
      const x = rand(B * 1000 + K + 2, B * K);
      const w = rand(K * 1000 + N + 2, K * N);
      const got = matmulSimd(x, B, K, w, N, 'f32b');
      const want = new Float32Array(B * N);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k0 = 0; k0 < K; k0 += BLOCK_K) {
            let part = 0; // a float32 lane: every product and partial sum rounded to float32
            for (let k = k0; k < Math.min(k0 + BLOCK_K, K); k++) part = Math.fround(part + Math.fround(x[b * K + k] * w[k * N + j]));
            s += part;
          }
          want[b * N + j] = s;
        }
      }
      assert.deepEqual(got, want, `B ${B}, K ${K}, N ${N}`);
    }
  }
});

test('SimdMemory: K = 0 gives zeros; matrices are padded to 8 columns; buffers outside the memory are refused', () => {
  const mem = new SimdMemory();
  const m = mem.putMatrix(new Float32Array(0), 0, 5);
  assert.deepEqual([m.K, m.N, m.Np], [0, 5, 8]);
  const x = mem.alloc(2);
  const o = mem.alloc(16);
  const out = mem.view(o, 16);
  out.fill(7);
  mem.matmul(m, mem.view(x, 0), 2, out);
  assert.deepEqual([...out], new Array(16).fill(0));
  assert.throws(() => mem.matmul(m, new Float32Array(4), 2, out), /views of this memory/);
  assert.throws(() => mem.matmul(mem.putMatrix(new Float32Array(0), 0, 5, undefined, 'f64'), mem.view(x, 0), 2, out), /4-byte floats for an f64 matrix/);
  assert.throws(() => mem.matmul(mem.putMatrix(new Float32Array(6), 2, 3), mem.view(x, 2), 2, out), /buffers of 2 and 16 floats/);
});

test('SimdMemory.recycle: the next SimdMemory takes over the memory (pages already mapped); the recycled one refuses use', () => {
  const old = new SimdMemory();
  const m = old.putMatrix(rand(1, 64 * 40), 64, 40);
  old.recycle();
  const next = new SimdMemory();
  assert.equal(next.memory, old.memory);
  assert.notEqual(new SimdMemory().memory, old.memory); // one owner at a time
  assert.throws(() => old.alloc(4), /recycled/);
  assert.throws(() => old.matmul(m, next.view(16, 64), 1, next.view(16, 40)), /recycled/);
  // a recycled memory's stale contents do not leak into results
  const x = rand(2, 3 * 64);
  const w = rand(3, 64 * 40);
  const fresh = matmulSimd(x, 3, 64, w, 40, 'f32b');
  next.putMatrix(rand(4, 64 * 40), 64, 40); // garbage left behind in the memory matmulSimd reuses
  next.recycle();
  assert.deepEqual(matmulSimd(x, 3, 64, w, 40, 'f32b'), fresh);
});
