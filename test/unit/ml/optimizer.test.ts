import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { AdamW, clipByGlobalNorm } from '../../../lib/ml/optimizer';
import { lrAt } from '../../../lib/ml/schedule';

before(async () => { await initBackend(); });

const near = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('AdamW matches two hand-computed steps, with decay on matrices only', () => {
  const opt = new AdamW({ beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  const w = tf.variable(tf.tensor2d([[1, -2]]));
  const g = tf.variable(tf.tensor1d([3]));
  const params = new Map<string, tf.Variable>([['w', w], ['g', g]]);
  const lr = 0.01;
  // Step 1: m = 0.1·grad, v = 0.01·grad²; m̂ = grad, v̂ = grad² → update = sign(grad) (up to eps).
  opt.apply(params, new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.5, -1]])], ['g', tf.tensor1d([2])]]), lr);
  let ws = w.dataSync();
  near(ws[0], 1 * (1 - lr * 0.1) - lr * 1);
  near(ws[1], -2 * (1 - lr * 0.1) + lr * 1);
  near(g.dataSync()[0], 3 - lr * 1); // rank 1: no decay
  // Step 2 with grad 0.25 for w[0]: m = 0.9·0.05 + 0.1·0.25 = 0.07; v = 0.99·0.0025 + 0.01·0.0625 = 0.003100
  const w0 = ws[0];
  opt.apply(params, new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.25, 0]])], ['g', tf.tensor1d([0])]]), lr);
  ws = w.dataSync();
  const mhat = 0.07 / (1 - 0.81);
  const vhat = 0.0031 / (1 - 0.9801);
  near(ws[0], w0 * (1 - lr * 0.1) - (lr * mhat) / (Math.sqrt(vhat) + 1e-8), 1e-5);
  assert.equal(opt.step, 2);
  // State round-trips.
  const st = opt.state();
  const copy = new AdamW({ beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  copy.loadState(st.step, new Map([...st.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.dataSync() as Float32Array }])));
  assert.deepEqual([...copy.state().tensors.get('m.w')!.dataSync()], [...st.tensors.get('m.w')!.dataSync()]);
  assert.equal(copy.state().step, 2);
});

test('global-norm clipping scales all gradients together only above the bound', () => {
  const grads = [tf.tensor1d([3, 0]), tf.tensor2d([[0, 4]])]; // norm 5
  const { grads: c, norm } = clipByGlobalNorm(grads, 1);
  near(norm, 5);
  near(c[0].dataSync()[0], 3 / (5 + 1e-6));
  near(c[1].dataSync()[1], 4 / (5 + 1e-6));
  const { grads: same } = clipByGlobalNorm(grads, 10);
  assert.deepEqual([...same[0].dataSync()], [3, 0]);
});

test('warmup is linear and cosine decays to the floor', () => {
  const o = { lr: 1, warmupSteps: 4, totalSteps: 14, minLrFrac: 0.1 };
  near(lrAt(0, o), 0.25);
  near(lrAt(3, o), 1);
  near(lrAt(4, o), 1);
  near(lrAt(9, o), 0.55);
  near(lrAt(14, o), 0.1);
  near(lrAt(100, o), 0.1);
  near(lrAt(0, { lr: 2, warmupSteps: 0, totalSteps: 10 }), 2);
});
