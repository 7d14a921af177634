// Group-relative advantages on hand-computed cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVANTAGE_EPS, groupAdvantages, groupStats } from '../../../lib/ml/grpo/advantages';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('advantages are (r − mean)/(std + 1e-4) within each group', () => {
  // group 1: [1, 0, 0, 1]: mean 0.5, sample std sqrt(1/3)
  // group 2: [2, 0, 1, 1]: mean 1, sample std sqrt(2/3)
  const a = groupAdvantages([1, 0, 0, 1, 2, 0, 1, 1], 4);
  const s1 = Math.sqrt(1 / 3) + ADVANTAGE_EPS;
  const s2 = Math.sqrt(2 / 3) + ADVANTAGE_EPS;
  const want = [0.5 / s1, -0.5 / s1, -0.5 / s1, 0.5 / s1, 1 / s2, -1 / s2, 0, 0];
  a.forEach((v, i) => close(v, want[i]));
  // within a group they sum to zero
  close(a.slice(0, 4).reduce((x, y) => x + y, 0), 0);
});

test('all-equal rewards give zero advantages, never NaN', () => {
  const a = groupAdvantages([1, 1, 1, 0, 0, 0, 0.3, 0.3, 0.3], 3);
  assert.ok(a.every((v) => v === 0), `${a}`);
  const s = groupStats([1, 1, 1, 0, 1, 0], 3);
  close(s.flatGroupFrac, 0.5);
});

test('rejects a batch that is not a whole number of groups, and groups of one', () => {
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /not a whole number of groups of 2/);
  assert.throws(() => groupAdvantages([1], 1), /groupSize/);
});
