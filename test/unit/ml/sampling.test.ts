import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickToken } from '../../../lib/ml/sampling';
import { rngFor } from '../../../lib/rng';

const logits = Float32Array.from([2, 1, 0, -1]);
const probs = (() => {
  const e = [...logits].map((x) => Math.exp(x));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
})();

test('greedy picks the argmax with its temperature-1 log-prob', () => {
  const p = pickToken(logits, 0, 1);
  assert.equal(p.token, 0);
  assert.ok(Math.abs(p.logProb - Math.log(probs[0])) < 1e-6);
});

test('temperature-1 sampling follows the softmax; draws are reproducible from the seed', () => {
  const counts = [0, 0, 0, 0];
  const rng = rngFor(3, 'pick');
  const N = 20000;
  for (let i = 0; i < N; i++) counts[pickToken(logits, 1, 1, rng).token]++;
  counts.forEach((c, i) => assert.ok(Math.abs(c / N - probs[i]) < 0.015, `token ${i}: ${c / N} vs ${probs[i]}`));
  const a = Array.from({ length: 50 }, (_, i) => pickToken(logits, 1, 1, rngFor(9, i)).token);
  const b = Array.from({ length: 50 }, (_, i) => pickToken(logits, 1, 1, rngFor(9, i)).token);
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size > 1);
});

test('top-p keeps the smallest head of the distribution reaching p and renormalizes it', () => {
  // p0 ≈ 0.644, p0+p1 ≈ 0.881: topP 0.7 keeps tokens 0 and 1 only.
  const rng = rngFor(4, 'topp');
  const seen = new Set<number>();
  let lp0 = 0;
  for (let i = 0; i < 2000; i++) {
    const p = pickToken(logits, 1, 0.7, rng);
    seen.add(p.token);
    if (p.token === 0) lp0 = p.samplingLogProb;
  }
  assert.deepEqual([...seen].sort(), [0, 1]);
  assert.ok(Math.abs(lp0 - Math.log(probs[0] / (probs[0] + probs[1]))) < 1e-6);
  // A tiny top-p is greedy.
  assert.equal(pickToken(logits, 1, 0.01, rng).token, 0);
  assert.throws(() => pickToken(logits, 1, 1), /rng/);
});
