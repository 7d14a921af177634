// CLI progress rendering: bar, durations, ETA from the observed rate, stage lines, summary table,
// run names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateTracker, bar, formatDuration, headline, stageLine, summaryTable } from '../../../lib/cli/progress';
import { defaultRunName, safeName } from '../../../lib/temporal/pipeline-client';
import { makePlan } from '../../helpers/temporal';

test('bar and durations', () => {
  assert.equal(bar(5, 10, 10), '[#####.....]');
  assert.equal(bar(20, 10, 4), '[####]');
  assert.equal(bar(1, 0, 4), '[....]');
  assert.equal(formatDuration(59_400), '59s');
  assert.equal(formatDuration(61_000), '1m01s');
  assert.equal(formatDuration(3_726_000), '1h02m');
  assert.equal(formatDuration(undefined), '-');
});

test('ETA uses the rate observed since the first sighting of this attempt', () => {
  const r = new RateTracker();
  const s = { id: 'sft', kind: 'sft', queue: 'cpu', state: 'running' as const, attempt: 1, progress: { step: 10, total: 110 } };
  assert.equal(r.eta(s, 0), undefined);
  assert.equal(r.eta({ ...s, progress: { step: 20, total: 110 } }, 10_000), 90_000);
  // A new attempt restarts the measurement.
  assert.equal(r.eta({ ...s, attempt: 2, progress: { step: 20, total: 110 } }, 20_000), undefined);
  const line = stageLine({ ...s, attempt: 2, progress: { step: 30, total: 110, metrics: { loss: 0.51234, lr: 1 } } }, 30_000, r);
  assert.match(line, /▸ sft +running +\[#####\.+\] 30\/110 +loss=0\.5123 +ETA 1m20s +attempt 2/);
});

test('headline prefers loss, then reward, accuracy', () => {
  assert.equal(headline({ lr: 1, accuracy: 0.5, loss: 2 }), 'loss=2');
  assert.equal(headline({ lr: 1, accuracy: 0.5 }), 'accuracy=0.5');
  assert.equal(headline({}), '');
});

test('summary table rows: state, reused/ran, duration, artifact, error', () => {
  const t = summaryTable({ stages: [
    { id: 'data', kind: 'dataset', queue: 'cpu', state: 'reused', reused: true, artifactId: 'ab'.repeat(32), startedAt: 0, endedAt: 1000, summary: { samples: 3 } },
    { id: 'sft', kind: 'sft', queue: 'cpu', state: 'failed', startedAt: 0, endedAt: 65_000, error: { type: 'DivergenceError', message: 'loss NaN at step 4' } },
  ] });
  const lines = t.split('\n');
  assert.match(lines[0], /^stage +state +reused\/ran +duration +artifact +headline$/);
  assert.match(lines[1], /^data +reused +reused +1s +abababababab +samples=3$/);
  assert.match(lines[2], /^sft +failed +- +1m05s +- +DivergenceError: loss NaN at step 4$/);
});

test('run names', () => {
  const plan = makePlan('My pipeline!', 'cpu', [{ id: 'a' }]);
  // Derived from the spec alone (no clock): two starts of one spec race on one workflow id.
  assert.equal(defaultRunName(plan), `My-pipeline-${plan.specHash.slice(0, 12)}`);
  assert.equal(safeName('../x y'), 'x-y');
});
