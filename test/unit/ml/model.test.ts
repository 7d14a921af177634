import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { attention, naiveAttention, applyRope } from '../../../lib/ml/model-layers';
import { VlmModel, modelConfig, buildCompletionBatch, countParams } from '../../../lib/ml/model';
import { generate } from '../../../lib/ml/sampling';
import { Rng, rngFor } from '../../../lib/rng';

before(async () => { await initBackend(); });

function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * std), shape);
}

function close(a: number[], b: number[], tol: number, what: string) {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `${what}[${i}]: ${x} vs ${b[i]}`));
}

for (const causal of [false, true]) {
  test(`attention equals a naive loop reference (causal=${causal})`, () => {
    const rng = rngFor(1, 'attn', String(causal));
    const [B, T, d, H] = [2, 5, 8, 2];
    const hd = d / H;
    const x = randn(rng, [B, T, d]) as tf.Tensor3D;
    const wqkv = randn(rng, [d, 3 * d], 0.5);
    const wo = tf.eye(d);
    const { y } = attention(x, wqkv, wo, { heads: H, causal, offset: 0 });
    const got = y.arraySync() as number[][][];
    const qkv = tf.matMul(x.reshape([B * T, d]), wqkv as tf.Tensor2D).arraySync() as number[][];
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const part = (k: number) => Array.from({ length: T }, (_, t) => qkv[b * T + t].slice(k * d + h * hd, k * d + (h + 1) * hd));
        const ref = naiveAttention(part(0), part(1), part(2), causal);
        for (let t = 0; t < T; t++) close(got[b][t].slice(h * hd, (h + 1) * hd), ref[t], 1e-4, `b${b} h${h} t${t}`);
      }
    }
  });
}

test('RoPE rotates each (i, i+hd/2) pair by position / base^(2i/hd)', () => {
  const rng = rngFor(2, 'rope');
  const hd = 4;
  const x = randn(rng, [1, 1, 3, hd]) as tf.Tensor4D;
  const got = applyRope(x, 5, 100).arraySync()[0][0];
  const xs = x.arraySync()[0][0];
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < hd / 2; i++) {
      const a = (5 + t) / Math.pow(100, (2 * i) / hd);
      const [u, v] = [xs[t][i], xs[t][i + hd / 2]];
      close([got[t][i], got[t][i + hd / 2]], [u * Math.cos(a) - v * Math.sin(a), v * Math.cos(a) + u * Math.sin(a)], 1e-5, 'rope');
    }
  }
});

function tinyModel(seed = 3) {
  return VlmModel.create(modelConfig('tiny', 300), rngFor(seed, 'init'));
}

function images(seed: number, n: number): tf.Tensor4D {
  const rng = rngFor(seed, 'img');
  return tf.tensor4d(Int32Array.from({ length: n * 32 * 32 * 3 }, () => rng.int(256)), [n, 32, 32, 3], 'int32');
}

test('tiny model has about 0.25M parameters; forward shapes', () => {
  const c = modelConfig('tiny', 300);
  const n = countParams(c);
  assert.ok(n > 150_000 && n < 400_000, `tiny has ${n} parameters`);
  const m = tinyModel();
  const logits = m.forward(images(1, 2), tf.tensor2d([[1, 7, 8], [1, 9, 10]], [2, 3], 'int32'));
  assert.deepEqual(logits.shape, [2, 3, 300]);
  m.dispose();
});

test('KV-cache generation equals recomputation token for token (greedy and sampled), batched = alone', () => {
  const m = tinyModel(4);
  // Scale up the weights so the greedy path is not a single repeated token.
  for (const v of m.trainableVariables()) if (v.shape.length === 2) v.assign(tf.mul(v, 6));
  const imgs = images(2, 3);
  const prompts = [[1, 20, 21, 22], [1, 30, 31, 32], [1, 40, 41]];
  const opts = { maxNewTokens: 12, eos: 0 };
  const cached = generate(m, imgs, prompts, opts);
  const recomputed = generate(m, imgs, prompts, { ...opts, useCache: false });
  assert.deepEqual(cached.tokens, recomputed.tokens);
  assert.ok(new Set(cached.tokens[0]).size > 1, `degenerate greedy output ${cached.tokens[0]}`);
  cached.logProbs.forEach((row, i) => close(row, recomputed.logProbs[i], 1e-3, `logp row ${i}`));
  const sampled = generate(m, imgs, prompts, { ...opts, temperature: 1, topP: 0.9, rng: rngFor(9, 's') });
  const sampled2 = generate(m, imgs, prompts, { ...opts, temperature: 1, topP: 0.9, rng: rngFor(9, 's'), useCache: false });
  assert.deepEqual(sampled.tokens, sampled2.tokens);
  const alone = generate(m, tf.slice(imgs, [1, 0, 0, 0], [1, 32, 32, 3]), [prompts[1]], opts);
  assert.deepEqual(alone.tokens[0], cached.tokens[1]);
  // The sampling log-probs match a training-style forward pass of the same completions.
  const { logProbs, mask } = m.completionLogProbs(imgs, prompts, cached.tokens);
  const lp = logProbs.arraySync();
  const mk = mask.arraySync();
  cached.logProbs.forEach((row, i) => {
    close(lp[i].slice(0, row.length), row, 1e-3, `completion row ${i}`);
    assert.equal(mk[i].reduce((a, b) => a + b, 0), row.length);
  });
  m.dispose();
});

test('buildCompletionBatch selects the column that predicts each completion token', () => {
  const b = buildCompletionBatch([[1, 2], [1, 2, 3]], [[7, 8, 9], [5]], 0);
  assert.equal(b.T, 5);
  assert.equal(b.L, 3);
  assert.deepEqual([...b.tokens], [1, 2, 7, 8, 9, 1, 2, 3, 5, 0]);
  const sel = (i: number, col: number, j: number) => b.select[i * (b.T - 1) * b.L + col * b.L + j];
  assert.equal(sel(0, 1, 0), 1); // token 7 at position 2 is predicted by column 1
  assert.equal(sel(0, 3, 2), 1);
  assert.equal(sel(1, 2, 0), 1);
  assert.equal(b.select.reduce((a, x) => a + x, 0), 4);
  assert.deepEqual([...b.mask], [1, 1, 1, 1, 0, 0]);
});

test('every parameter gets a nonzero gradient from a completion loss', () => {
  const m = tinyModel(5);
  const imgs = images(3, 2);
  const { grads } = tf.variableGrads(() => {
    const { logProbs, mask } = m.completionLogProbs(imgs, [[1, 5, 6], [1, 5, 6]], [[7, 8, 0], [9, 0]]);
    return tf.neg(tf.div(tf.sum(tf.mul(logProbs, mask)), tf.sum(mask))) as tf.Scalar;
  }, m.trainableVariables());
  for (const [name] of m.params) {
    const g = grads[[...m.params.entries()].find(([n]) => n === name)![1].name];
    assert.ok(g, `no gradient for ${name}`);
    assert.ok(tf.sum(tf.abs(g)).dataSync()[0] > 0, `zero gradient for ${name}`);
  }
  m.dispose();
});
