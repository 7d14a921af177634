// Micro-batched gradient accumulation equals the full-batch gradient of the GRPO loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { grpoGradients, type RolloutTensors } from '../../../lib/ml/grpo/update';
import { Rng } from '../../../lib/rng';

test('accumulating over micro-batches gives the full-batch gradient and diagnostics', () => {
  const rng = Rng.fromSeed(11);
  const N = 4, T = 3, V = 5;
  const w = tf.variable(tf.tensor2d(Array.from({ length: V * V }, () => rng.normal()), [V, V]), true, 'toy.w');
  const prev = tf.tensor2d(Array.from({ length: N * T }, () => rng.int(V)), [N, T], 'int32');
  const logitsFor = (start: number, count: number) =>
    tf.matMul(tf.oneHot(prev.slice(start, count).reshape([-1]) as tf.Tensor1D, V), w).reshape([count, T, V]) as tf.Tensor3D;
  const r: RolloutTensors = {
    tokens: tf.tensor2d(Array.from({ length: N * T }, () => rng.int(V)), [N, T], 'int32'),
    oldLogp: tf.tensor2d(Array.from({ length: N * T }, () => -1 - rng.next()), [N, T]),
    refLogp: tf.tensor2d(Array.from({ length: N * T }, () => -1 - rng.next()), [N, T]),
    advantages: tf.tensor1d([1, -0.5, 0.3, -0.8]),
    mask: tf.tensor2d([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]]),
  };
  const cfg = { clipLow: 0.2, clipHigh: 0.1, beta: 0.04, temperature: 0.9 };
  const full = grpoGradients(r, [w], logitsFor, { ...cfg, microBatch: 4 });
  const split = grpoGradients(r, [w], logitsFor, { ...cfg, microBatch: 2 });
  const a = full.grads['toy.w'].dataSync();
  const b = split.grads['toy.w'].dataSync();
  assert.ok(a.some((v) => v !== 0));
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-6, `${i}: ${v} vs ${b[i]}`));
  for (const k of ['loss', 'kl', 'clipLowFrac', 'clipHighFrac', 'meanRatio', 'entropy'] as const) {
    assert.ok(Math.abs(full[k] - split[k]) < 1e-6, `${k}: ${full[k]} vs ${split[k]}`);
    assert.ok(Number.isFinite(full[k]));
  }
  assert.throws(() => grpoGradients(r, [w], logitsFor, { ...cfg, microBatch: 3 }), /not divisible by microBatch 3/);
});
