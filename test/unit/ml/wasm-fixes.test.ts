// The wasm kernel fixes against plain-JS references: batched matmuls (run as per-entry 2-D calls,
// with and without transpose flags, where a kernel-side weight cache could serve stale operands) and
// the gather gradient (UnsortedSegmentSum).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { rngFor } from '../../../lib/rng';

before(async () => { await initBackend({ env: { TFJS_BACKEND: 'wasm' } }); });

function randArr(seed: number, n: number): Float32Array {
  const r = rngFor(seed, 'wasm-fix');
  return Float32Array.from({ length: n }, () => r.normal());
}

function refMatMul(a: Float32Array, b: Float32Array, batch: number, M: number, K: number, N: number, ta: boolean, tb: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < batch; i++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const av = ta ? a[i * M * K + k * M + m] : a[i * M * K + m * K + k];
      const bv = tb ? b[i * K * N + n * K + k] : b[i * K * N + k * N + n];
      s += av * bv;
    }
    out.push(s);
  }
  return out;
}

// Entries of 24×20×20 take the per-entry 2-D path; 5×7×3 stays on the original kernel.
for (const [M, K, N] of [[24, 20, 20], [5, 7, 3]]) test(`batched matmul ${M}×${K}×${N}, every transpose combination, matches a JS reference`, () => {
  assert.equal(tf.getBackend(), 'wasm');
  const batch = 6;
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = randArr(1 + Number(ta) + 2 * Number(tb), batch * M * K);
    const b = randArr(10 + Number(ta) + 2 * Number(tb), batch * K * N);
    const A = tf.tensor4d(a, ta ? [2, 3, K, M] : [2, 3, M, K]);
    const B = tf.tensor4d(b, tb ? [2, 3, N, K] : [2, 3, K, N]);
    const got = [...tf.matMul(A, B, ta, tb).dataSync()];
    const want = refMatMul(a, b, batch, M, K, N, ta, tb);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-4, `ta=${ta} tb=${tb} [${i}] ${x} vs ${want[i]}`));
  }
});

test('gather has a gradient on wasm (UnsortedSegmentSum), summing repeated indices', () => {
  const table = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]));
  const idx = tf.tensor1d([2, 0, 2], 'int32');
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, idx), tf.tensor2d([[1, 1], [2, 2], [3, 3]]))) as tf.Scalar, [table]);
  assert.deepEqual([...grads[table.name].dataSync()], [2, 2, 0, 0, 4, 4]);
});
