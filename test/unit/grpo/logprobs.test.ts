// Token log-probs and entropy from logits, against a plain-JS computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { maskedMean, tokenEntropy, tokenLogprobs } from '../../../lib/ml/grpo/logprobs';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

function jsLogSoftmax(row: number[], temp: number): number[] {
  const s = row.map((v) => v / temp);
  const m = Math.max(...s);
  const lse = m + Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0));
  return s.map((v) => v - lse);
}

test('tokenLogprobs picks log softmax(logits/T) at the target; entropy matches', () => {
  const logits = [[[1, 2, 0.5], [0, 0, 3]], [[-1, 4, 2], [0.3, 0.2, 0.1]]];
  const targets = [[1, 2], [0, 1]];
  for (const temp of [1, 0.7]) {
    const lp = tokenLogprobs(tf.tensor3d(logits), tf.tensor2d(targets), temp).arraySync();
    const ent = tokenEntropy(tf.tensor3d(logits), temp).arraySync();
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 2; t++) {
        const ls = jsLogSoftmax(logits[b][t], temp);
        close(lp[b][t], ls[targets[b][t]]);
        close(ent[b][t], -ls.reduce((a, v) => a + Math.exp(v) * v, 0));
      }
    }
  }
  close(maskedMean(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [1, 1]])), 8 / 3);
});

test('tokenLogprobs is differentiable w.r.t. the logits (softmax − onehot)', () => {
  const g = tf.grad((x: tf.Tensor) => tf.sum(tokenLogprobs(x as tf.Tensor3D, tf.tensor2d([[0]]))))(tf.tensor3d([[[0, 0]]]));
  const v = g.arraySync() as number[][][];
  close(v[0][0][0], 0.5);
  close(v[0][0][1], -0.5);
});
