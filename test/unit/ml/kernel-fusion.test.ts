// The kernel-count work of issue 14.3 kept honest: the wasm buffer-sharing fixes never let one
// tensor see another's later changes, the grouped AdamW equals the per-parameter update bit for bit
// (across a checkpoint round trip), and the kernel budgets of a TF.js decode step (`decode: 'tf'`)
// and a training forward do not creep back up (counted with tf.profile, so they hold on any
// backend); the plain-JS decode step that generate uses by default runs none.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { VlmModel, modelConfig } from '../../../lib/ml/model';
import { AdamW } from '../../../lib/ml/optimizer';
import { decodeStepJs, prepareDecodeJs, startDecodeJs } from '../../../lib/ml/decode-js';
import { rngFor } from '../../../lib/rng';

before(async () => { await initBackend({ env: { TFJS_BACKEND: 'wasm' } }); });

test('wasm Identity and same-dtype Cast share buffers safely (dispose, assign)', () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = a.clone();
  const c = tf.cast(b, 'float32');
  a.dispose();
  b.dispose();
  assert.deepEqual([...c.dataSync()], [1, 2, 3, 4]);
  const v = tf.variable(tf.tensor1d([5, 6]));
  const snap = v.clone();
  v.assign(tf.tensor1d([7, 8]));
  assert.deepEqual([...snap.dataSync()], [5, 6]);
  assert.deepEqual([...v.dataSync()], [7, 8]);
  const i = tf.cast(tf.tensor1d([1.5, -2.5]), 'int32');
  assert.deepEqual([...i.dataSync()], [1, -2]);
  tf.dispose([c, v, snap, i]);
});

test('wasm Slice and SplitV (heap copies) match a JS reference on every axis, rank 1 to 5', () => {
  const shapes = [[7], [5, 6], [3, 4, 5], [2, 3, 4, 5], [2, 2, 3, 2, 4]];
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => i);
    const x = tf.tensor(data, shape);
    const at = (idx: number[]) => idx.reduce((o, v, a) => o * shape[a] + v, 0);
    const ref = (begin: number[], size: number[]) => {
      const out: number[] = [];
      const walk = (a: number, idx: number[]) => {
        if (a === shape.length) { out.push(data[at(idx)]); return; }
        for (let i = 0; i < size[a]; i++) walk(a + 1, [...idx, begin[a] + i]);
      };
      walk(0, []);
      return out;
    };
    for (let axis = 0; axis < shape.length; axis++) {
      const begin = shape.map((s, a) => (a === axis ? 1 : Math.min(1, s - 1)));
      const size = shape.map((s, a) => (a === axis ? s - 1 : s - begin[a]));
      assert.deepEqual([...tf.slice(x, begin, size).dataSync()], ref(begin, size), `slice ${shape} axis ${axis}`);
      const first = Math.floor(shape[axis] / 2);
      const parts = tf.split(x, [first, shape[axis] - first], axis);
      const zero = shape.map(() => 0);
      assert.deepEqual([...parts[0].dataSync()], ref(zero, shape.map((s, a) => (a === axis ? first : s))), `split ${shape} axis ${axis} part 0`);
      assert.deepEqual([...parts[1].dataSync()], ref(shape.map((_, a) => (a === axis ? first : 0)), shape.map((s, a) => (a === axis ? s - first : s))), `split ${shape} axis ${axis} part 1`);
    }
    const ints = tf.slice(tf.tensor(Int32Array.from(data), shape, 'int32'), shape.map(() => 0), shape.map((s) => Math.max(1, s - 1)));
    assert.equal(ints.dtype, 'int32');
    assert.deepEqual([...ints.dataSync()], ref(shape.map(() => 0), shape.map((s) => Math.max(1, s - 1))));
  }
});

/** The pre-grouping AdamW update, one parameter at a time (the reference). */
function referenceStep(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, m: Map<string, tf.Tensor>, v: Map<string, tf.Tensor>, t: number, lr: number, wd: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const bc1 = 1 - Math.pow(b1, t);
  const bc2 = 1 - Math.pow(b2, t);
  for (const [name, p] of params) {
    const g = grads.get(name) as tf.Tensor;
    const m0 = m.get(name) ?? tf.zerosLike(p);
    const v0 = v.get(name) ?? tf.zerosLike(p);
    const m1 = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
    const v1 = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
    const decayed = p.shape.length >= 2 && wd > 0 ? tf.mul(p, 1 - lr * wd) : p;
    const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), eps));
    p.assign(tf.sub(decayed, tf.mul(update, lr)));
    m.set(name, m1);
    v.set(name, v1);
  }
}

test('grouped AdamW equals the per-parameter update bit for bit, also across state() / loadState()', () => {
  const shapes: Array<[string, number[]]> = [['a.w', [3, 4]], ['a.g', [4]], ['b.w', [4, 2]], ['b.b', [2]], ['c.w', [2, 2, 2]]];
  const rng = rngFor(3, 'adamw-group');
  const init = shapes.map(([n, s]) => [n, Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => rng.normal())] as const);
  const make = () => new Map(init.map(([n, data], i) => [n, tf.variable(tf.tensor(data, shapes[i][1]))]));
  const gradsAt = (step: number) => new Map(shapes.map(([n, s]) => {
    const r = rngFor(step, 'g', n);
    return [n, tf.tensor(Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => r.normal() * 0.1), s)];
  }));
  const ref = make();
  const [rm, rv] = [new Map<string, tf.Tensor>(), new Map<string, tf.Tensor>()];
  const grouped = make();
  let opt = new AdamW({ weightDecay: 0.05 });
  for (let step = 1; step <= 4; step++) {
    const lr = 0.01 * step;
    referenceStep(ref, gradsAt(step), rm, rv, step, lr, 0.05);
    opt.apply(grouped, gradsAt(step), lr);
    if (step === 2) {
      // Resume from a checkpoint of the moments into a fresh optimizer.
      const st = opt.state();
      assert.deepEqual([...st.tensors.keys()].slice(0, 2), ['m.a.w', 'm.a.g']);
      assert.deepEqual([...st.tensors.get('v.b.w')!.dataSync()], [...rv.get('b.w')!.dataSync()]);
      opt.dispose();
      opt = new AdamW({ weightDecay: 0.05 });
      opt.loadState(st.step, new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.dataSync() as Float32Array }])));
    }
  }
  for (const [n, p] of ref) assert.deepEqual([...grouped.get(n)!.dataSync()], [...p.dataSync()], `parameter ${n}`);
  assert.equal(opt.step, 4);
  opt.dispose();
});

async function kernelsOf(f: () => void): Promise<number> {
  const prof = await tf.profile(() => { f(); return undefined as never; });
  return prof.kernels.filter((k) => !k.name.endsWith('__op')).length;
}

test('kernel budgets: a one-token decode step (TF.js: budget; JS: none) and a training forward of the tiny model', async () => {
  const m = VlmModel.create(modelConfig('tiny', 300), rngFor(1, 'budget'));
  const imgs = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
  const dw = m.prepareDecode();
  const { logits, cache } = m.prefill(imgs, tf.tensor2d([[1, 5, 6], [1, 7, 8]], [2, 3], 'int32'));
  const tokens = tf.tensor2d([[9], [10]], [2, 1], 'int32');
  if (process.env.KERNEL_PINS_PRINT === '1') console.log('counts', await kernelsOf(() => tf.tidy(() => { m.decodeStep(tokens, cache, dw); })),
    await kernelsOf(() => tf.tidy(() => { m.completionLogProbs(imgs, [[1, 5, 6], [1, 5, 6]], [[7, 8, 0], [9, 0]]); })));
  const step = await kernelsOf(() => tf.tidy(() => { m.decodeStep(tokens, cache, dw); }));
  // Per layer 30 (39 before issue 14.3): 5 norm + 5 q/k/v with RoPE + 8 attention, output and residual
  // + 12 MLP with its norm; plus reshape, gather, final norm and head.
  const L = m.config.text.layers;
  assert.ok(step <= 30 * L + 8, `decode step ran ${step} kernels (budget ${30 * L + 8}; 125 before issue 14.3)`);
  const js = prepareDecodeJs(m.config, (n) => m.p(n));
  const state = startDecodeJs(js, cache.layers, cache.length, 2, cache.length + 1);
  assert.equal(await kernelsOf(() => { decodeStepJs(js, state, [9, 10]); }), 0, 'the JS decode step ran TF.js kernels');
  const fwd = await kernelsOf(() => tf.tidy(() => { m.completionLogProbs(imgs, [[1, 5, 6], [1, 5, 6]], [[7, 8, 0], [9, 0]]); }));
  assert.ok(fwd <= 211, `training forward ran ${fwd} kernels (budget 211; 268 before issue 14.3)`);
  tf.dispose([imgs, tokens, logits, ...cache.layers.flatMap((e) => [e.k, e.v])]);
  m.dispose();
});
