// Fair comparisons: siblings from the same start found through the lineage, read against the
// plain-clip sibling seed by seed, with the step budgets checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResultsTables, pairedDeltas } from '../../lib/report/aggregate';
import { fairComparisons, grpoParents } from '../../lib/report/compare';
import { fixtureReportData } from './fixtures/report-data';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

void test('grpoParents: each GRPO stage maps to the group its model input comes from', () => {
  const parents = grpoParents(fixtureReportData());
  const run = fixtureReportData().runs[0].id;
  assert.equal(parents.get(`${run}/clgrpo[seed=2]`), 'grpo_full');
  assert.equal(parents.get(`${run}/grpo_fmt[seed=1]`), 'sft');
  assert.equal(parents.has(`${run}/sft[seed=1]`), false, 'only GRPO stages');
});

void test('fairComparisons: CLGRPO against its plain-GRPO sibling, paired by seed, budgets equal', () => {
  const data = fixtureReportData();
  const [table] = buildResultsTables(data);
  const [c, ...rest] = fairComparisons(data, table);
  assert.equal(rest.length, 0);
  assert.equal(c.parent, 'grpo_full');
  assert.equal(c.reference, 'grpo_cont', 'the sibling with clip low = high is the control');
  assert.ok(c.stepsEqual);
  const [row] = c.rows;
  assert.equal(row.group, 'clgrpo');
  const cl = table.rows.find((r) => r.group === 'clgrpo')!;
  const ctl = table.rows.find((r) => r.group === 'grpo_cont')!;
  close(row.delta.accuracy, (cl.metrics.accuracy.mean - ctl.metrics.accuracy.mean) * 100);
  assert.deepEqual(row.paired.map((p) => p.seed), ['1', '2']);
  close(row.paired[0].delta, (cl.bySeed['1'].accuracy - ctl.bySeed['1'].accuracy) * 100);
  // The mean of paired differences equals the difference of means when both rows have every seed.
  close(row.paired.reduce((a, p) => a + p.delta, 0) / 2, row.delta.accuracy);
});

void test('fairComparisons flags unequal budgets; pairedDeltas uses only shared seeds', () => {
  const data = fixtureReportData();
  for (const s of data.stages) if (s.baseId === 'clgrpo') s.params = { ...s.params, steps: 300 };
  const [c] = fairComparisons(data, buildResultsTables(data)[0]);
  assert.equal(c.stepsEqual, false);
  assert.deepEqual(c.steps, { clgrpo: 300, grpo_cont: 200 });
  const [t] = buildResultsTables(data);
  const a = t.rows[1];
  const b = { ...t.rows[2], bySeed: { 2: t.rows[2].bySeed['2'] } };
  assert.deepEqual(pairedDeltas(a, b, 'accuracy').map((p) => p.seed), ['2']);
});
