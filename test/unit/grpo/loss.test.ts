// The GRPO loss on hand-computed tiny cases, and against a plain-JS reference implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { grpoLoss, readDiagnostics } from '../../../lib/ml/grpo/loss';
import { Rng } from '../../../lib/rng';

type M = number[][];

/** Plain-JS reference: the formula of CLGRPO.md written the obvious way. */
function referenceLoss(logp: M, old: M, ref: M, adv: number[], mask: M, low: number, high: number, beta: number) {
  let loss = 0;
  let kl = 0;
  let lowN = 0;
  let highN = 0;
  let ratioSum = 0;
  let tokens = 0;
  for (let i = 0; i < logp.length; i++) {
    let seqLoss = 0;
    let seqKl = 0;
    let n = 0;
    for (let t = 0; t < logp[i].length; t++) {
      if (!mask[i][t]) continue;
      const r = Math.exp(logp[i][t] - old[i][t]);
      const c = Math.min(Math.max(r, 1 - low), 1 + high);
      const obj = Math.min(r * adv[i], c * adv[i]);
      const d = ref[i][t] - logp[i][t];
      const k = Math.exp(d) - d - 1;
      seqLoss += -obj + beta * k;
      seqKl += k;
      n++;
      tokens++;
      ratioSum += r;
      if (adv[i] < 0 && r < 1 - low) lowN++;
      if (adv[i] > 0 && r > 1 + high) highN++;
    }
    loss += seqLoss / Math.max(n, 1);
    kl += seqKl / Math.max(n, 1);
  }
  const B = logp.length;
  return { loss: loss / B, kl: kl / B, clipLowFrac: lowN / tokens, clipHighFrac: highN / tokens, meanRatio: ratioSum / tokens };
}

function run(logp: M, old: M, ref: M, adv: number[], mask: M, low: number, high: number, beta: number) {
  return tf.tidy(() => {
    const o = grpoLoss({
      logp: tf.tensor2d(logp), oldLogp: tf.tensor2d(old), refLogp: tf.tensor2d(ref),
      advantages: tf.tensor1d(adv), mask: tf.tensor2d(mask), clipLow: low, clipHigh: high, beta,
    });
    return readDiagnostics(o);
  });
}

/** d loss / d logp, per token. */
function gradient(logp: M, old: M, ref: M, adv: number[], mask: M, low: number, high: number, beta: number): M {
  const g = tf.grad((lp: tf.Tensor) => grpoLoss({
    logp: lp as tf.Tensor2D, oldLogp: tf.tensor2d(old), refLogp: tf.tensor2d(ref),
    advantages: tf.tensor1d(adv), mask: tf.tensor2d(mask), clipLow: low, clipHigh: high, beta,
  }).loss)(tf.tensor2d(logp));
  const out = g.arraySync() as M;
  g.dispose();
  return out;
}

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const ln = Math.log;

test('on-policy: ratio is 1, nothing is clipped, loss is −mean(A) when beta = 0', () => {
  const logp = [[-1, -2, -0.5], [-0.3, -0.7, -1.2]];
  const d = run(logp, logp, logp, [1.5, -1.5], [[1, 1, 1], [1, 1, 0]], 0.2, 0.2, 0.04);
  close(d.meanRatio, 1);
  assert.equal(d.clipLowFrac, 0);
  assert.equal(d.clipHighFrac, 0);
  close(d.kl, 0);
  close(d.loss, 0); // −(1.5 − 1.5)/2
  // The gradient is −A/(tokens of the sequence)/B on every counted token: the policy-gradient step.
  const g = gradient(logp, logp, logp, [1.5, -1.5], [[1, 1, 1], [1, 1, 0]], 0.2, 0.2, 0);
  close(g[0][0], -1.5 / 3 / 2);
  close(g[1][1], 1.5 / 2 / 2);
  assert.equal(g[1][2], 0);
});

test('only the high bound binds: A > 0, ratio 1.5 is clipped at 1.2, ratio 1.1 is not', () => {
  const old = [[0, 0, 0]];
  const logp = [[ln(1.5), ln(1.1), ln(0.5)]];
  const mask = [[1, 1, 1]];
  const d = run(logp, old, logp, [2], mask, 0.2, 0.2, 0);
  close(d.clipHighFrac, 1 / 3);
  assert.equal(d.clipLowFrac, 0); // A > 0: a small ratio is never clipped
  close(d.loss, -(1.2 * 2 + 1.1 * 2 + 0.5 * 2) / 3, 1e-5);
  const g = gradient(logp, old, logp, [2], mask, 0.2, 0.2, 0);
  assert.equal(g[0][0], 0);
  close(g[0][1], -1.1 * 2 / 3); // d(−r·A/3)/dlogp = −r·A/3
  close(g[0][2], -0.5 * 2 / 3);
});

test('only the low bound binds: A < 0, ratio 0.5 is clipped at 0.8, ratio 0.9 and 1.5 are not', () => {
  const old = [[0, 0, 0]];
  const logp = [[ln(0.5), ln(0.9), ln(1.5)]];
  const mask = [[1, 1, 1]];
  const d = run(logp, old, logp, [-1], mask, 0.2, 0.2, 0);
  close(d.clipLowFrac, 1 / 3);
  assert.equal(d.clipHighFrac, 0);
  close(d.loss, (0.8 + 0.9 + 1.5) / 3);
  const g = gradient(logp, old, logp, [-1], mask, 0.2, 0.2, 0);
  assert.equal(g[0][0], 0);
  close(g[0][1], 0.9 / 3);
  close(g[0][2], 1.5 / 3);
});

test('KL is 0 when the policy equals the reference, positive otherwise', () => {
  const logp = [[-1, -2], [-0.1, -3]];
  const old = [[-1.1, -1.9], [-0.2, -2.5]];
  const mask = [[1, 1], [1, 1]];
  close(run(logp, old, logp, [1, -1], mask, 0.2, 0.2, 0.04).kl, 0);
  const ref = [[-1.5, -1.5], [-0.1, -2]];
  assert.ok(run(logp, old, ref, [1, -1], mask, 0.2, 0.2, 0.04).kl > 0);
});

test('CLGRPO bounds (0.2/0.1) clip more than GRPO bounds (0.2/0.2) on the same inputs', () => {
  const old = [[0, 0, 0, 0], [0, 0, 0, 0]];
  const logp = [[ln(1.15), ln(1.25), ln(1.05), ln(0.7)], [ln(1.15), ln(0.75), ln(1.3), ln(0.95)]];
  const mask = [[1, 1, 1, 1], [1, 1, 1, 1]];
  const grpo = run(logp, old, logp, [1, -1], mask, 0.2, 0.2, 0);
  const clgrpo = run(logp, old, logp, [1, -1], mask, 0.2, 0.1, 0);
  close(grpo.clipHighFrac, 1 / 8);
  close(clgrpo.clipHighFrac, 2 / 8);
  assert.equal(grpo.clipLowFrac, clgrpo.clipLowFrac);
  assert.ok(clgrpo.clipHighFrac + clgrpo.clipLowFrac > grpo.clipHighFrac + grpo.clipLowFrac);
});

test('masked tokens and empty sequences contribute nothing and make no NaN', () => {
  const logp = [[-1, 5], [-2, -2]];
  const old = [[-1.2, 9], [-2, -2]];
  const g = gradient(logp, old, logp, [1, 0.5], [[1, 0], [0, 0]], 0.2, 0.2, 0.04);
  assert.equal(g[0][1], 0);
  assert.ok(g[1].every((v) => v === 0), `${g[1]}`);
  const d = run(logp, old, logp, [1, 0.5], [[1, 0], [0, 0]], 0.2, 0.2, 0.04);
  for (const v of Object.values(d)) assert.ok(Number.isFinite(v));
});

test('matches the plain-JS reference on random inputs', () => {
  const rng = Rng.fromSeed(3);
  for (const [low, high, beta] of [[0.2, 0.2, 0.04], [0.2, 0.1, 0.1], [0.1, 0.3, 0]]) {
    const B = 5;
    const T = 7;
    const rand = (s: number) => Array.from({ length: B }, () => Array.from({ length: T }, () => -Math.abs(rng.normal()) * s));
    const logp = rand(1);
    const old = logp.map((row) => row.map((v) => v + rng.normal() * 0.3));
    const ref = logp.map((row) => row.map((v) => v + rng.normal() * 0.5));
    const adv = Array.from({ length: B }, () => rng.normal());
    const mask = Array.from({ length: B }, () => Array.from({ length: T }, () => (rng.next() < 0.8 ? 1 : 0)));
    const want = referenceLoss(logp, old, ref, adv, mask, low, high, beta);
    const got = run(logp, old, ref, adv, mask, low, high, beta);
    for (const k of Object.keys(want) as Array<keyof typeof want>) close(got[k], want[k], 1e-4);
  }
});

test('rejects bounds outside their range', () => {
  const z = [[0]];
  assert.throws(() => run(z, z, z, [1], [[1]], 1, 0.2, 0), /clipLow/);
  assert.throws(() => run(z, z, z, [1], [[1]], 0.2, -0.1, 0), /clipHigh/);
});
