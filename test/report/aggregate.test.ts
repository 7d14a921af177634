// The report's arithmetic on hand-computed cases: summaries over seeds, grouping of matrix cells,
// baseline choice and deltas in points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResultsTables, chooseBaseline, deltaPoints, groupKeyOf, rowNormalize, summarize } from '../../lib/report/aggregate';
import { pctSummary, points } from '../../lib/report/format';
import type { ModelResult, ReportData, StageInfo } from '../../lib/report/model';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

void test('summarize: mean, sample std (n−1), min and max; NaN ignored; one value has std 0', () => {
  const s = summarize([0.6, 0.64, 0.62, NaN]);
  close(s.mean, 0.62);
  close(s.std, 0.02); // deviations ±0.02, 0: sqrt(0.0008 / 2)
  assert.deepEqual([s.n, s.min, s.max], [3, 0.6, 0.64]);
  assert.deepEqual(summarize([0.5]), { n: 1, mean: 0.5, std: 0, min: 0.5, max: 0.5 });
  assert.equal(summarize([]).n, 0);
  assert.ok(Number.isNaN(summarize([]).mean));
});

void test('deltaPoints: difference of means in percentage points', () => {
  close(deltaPoints(summarize([0.655, 0.659]), summarize([0.62, 0.63])), 3.2, 1e-9);
  close(deltaPoints(summarize([0.5]), summarize([0.6])), -10, 1e-9);
  assert.equal(points(3.2), '+3.2');
  assert.equal(points(-0.44), '\u22120.4');
  assert.equal(points(0.01), '±0.0');
  assert.equal(pctSummary(summarize([0.6, 0.64, 0.62])), '62.0 ± 2.0');
  assert.equal(pctSummary(summarize([0.625])), '62.5');
});

void test('groupKeyOf: seeds share a row, other matrix keys do not', () => {
  assert.equal(groupKeyOf({ baseId: 'clgrpo', matrix: { seed: 1 } }), 'clgrpo');
  assert.equal(groupKeyOf({ baseId: 'clgrpo', matrix: { seed: 2, 'clip.high': 0.1 } }), 'clgrpo[clip.high=0.1]');
  assert.equal(groupKeyOf({ baseId: 'sft' }), 'sft');
});

function stage(id: string, baseId: string, kind: StageInfo['kind'], seed: number, params = {}, matrix?: StageInfo['matrix']): StageInfo {
  return { id, baseId, kind, runId: 'r', seed, params, matrix };
}
function result(stageId: string, accuracy: number, perClass: [number, number]): ModelResult {
  return { stageId, runId: 'r', artifactId: stageId, n: 10, accuracy, macroRecall: (perClass[0] + perClass[1]) / 2, formatRate: 1,
    perClassRecall: { a: perClass[0], b: perClass[1] }, confusion: [[perClass[0] * 5, 5 - perClass[0] * 5, 0], [0, perClass[1] * 5, 5 - perClass[1] * 5]] };
}

function twoSeedData(): ReportData {
  const stages = [
    stage('base[seed=1]', 'base', 'sft', 1, { target: 'label' }, { seed: 1 }), stage('base[seed=2]', 'base', 'sft', 2, { target: 'label' }, { seed: 2 }),
    stage('cl[seed=1]', 'cl', 'grpo', 1, {}, { seed: 1 }), stage('cl[seed=2]', 'cl', 'grpo', 2, {}, { seed: 2 }),
    stage('sft', 'sft', 'sft', 7, { target: 'cot' }),
  ];
  const models = [result('cl[seed=2]', 0.7, [0.8, 0.6]), result('base[seed=1]', 0.6, [0.6, 0.6]), result('base[seed=2]', 0.62, [0.8, 0.4]),
    result('cl[seed=1]', 0.66, [0.6, 0.8]), result('sft', 0.5, [0.4, 0.6])];
  return { runs: [{ id: 'r', pipeline: 'p' }], stages, evals: [{ stageId: 'eval', runId: 'r', split: 'test', labels: ['a', 'b'], models }], curves: [], cot: [], lineage: { nodes: [], edges: [] }, generatedAt: '', warnings: [] };
}

void test('results table: rows per base stage in plan order, label SFT is the baseline, deltas in points', () => {
  const [t] = buildResultsTables(twoSeedData());
  assert.deepEqual(t.rows.map((r) => r.group), ['base', 'cl', 'sft']);
  assert.equal(t.baseline, 'base');
  const [base, cl, sft] = t.rows;
  assert.ok(base.isBaseline && !cl.isBaseline);
  assert.deepEqual(cl.seeds, [1, 2]);
  close(cl.metrics.accuracy.mean, 0.68);
  close(cl.delta!.accuracy, 7, 1e-9); // 68 − 61
  close(sft.delta!.accuracy, -11, 1e-9);
  close(cl.perClassDelta!.a, 0, 1e-9); // 70 − 70
  close(cl.perClassDelta!.b, 20, 1e-9); // 70 − 50
  assert.equal(base.delta, undefined);
  // Confusions of the two seeds are summed cell by cell.
  assert.deepEqual(cl.confusion, [[7, 3, 0], [0, 7, 3]]);
});

void test('baseline: --baseline wins, an unknown name is reported, no label SFT means no deltas', () => {
  const data = twoSeedData();
  assert.equal(buildResultsTables(data, 'sft')[0].baseline, 'sft');
  assert.equal(buildResultsTables(data, 'cl[seed=2]')[0].baseline, 'cl');
  const bad = buildResultsTables(data, 'nope')[0];
  assert.equal(bad.baseline, undefined);
  assert.match(bad.baselineNote, /names no evaluated stage \(have: base, cl, sft\)/);
  data.stages = data.stages.map((s) => ({ ...s, params: { target: 'cot' } }));
  const none = buildResultsTables(data)[0];
  assert.equal(none.baseline, undefined);
  assert.ok(none.rows.every((r) => r.delta === undefined));
  assert.match(chooseBaseline([], new Map()).note, /No label-SFT stage/);
});

void test('rowNormalize: rows sum to one, empty rows stay zero', () => {
  assert.deepEqual(rowNormalize([[1, 3, 0], [0, 0, 0]]), [[0.25, 0.75, 0], [0, 0, 0]]);
});

void test('several runs of one pipeline: the same stage id in each run is one row over their seeds', () => {
  const mk = (runId: string, seed: number, acc: number) => ({
    stage: { ...stage('clgrpo', 'clgrpo', 'grpo', seed), runId },
    model: { ...result('clgrpo', acc, [acc, acc]), runId },
  });
  const a = mk('run-a', 11, 0.6);
  const b = mk('run-b', 12, 0.7);
  const data: ReportData = { ...twoSeedData(), runs: [{ id: 'run-a', pipeline: 'p' }, { id: 'run-b', pipeline: 'p' }], stages: [a.stage, b.stage],
    evals: [{ stageId: 'eval', runId: 'run-a', split: 'test', labels: ['a', 'b'], models: [a.model] }, { stageId: 'eval', runId: 'run-b', split: 'test', labels: ['a', 'b'], models: [b.model] }] };
  const [t] = buildResultsTables(data);
  assert.equal(t.rows.length, 1);
  assert.deepEqual(t.rows[0].members, ['run-a/clgrpo', 'run-b/clgrpo']);
  assert.deepEqual(t.rows[0].seeds, [11, 12]);
  close(t.rows[0].metrics.accuracy.mean, 0.65);
});

void test('tailMean: the mean of the last tenth of a curve, NaN skipped', async () => {
  const { tailMean } = await import('../../lib/report/render-md');
  const pts = Array.from({ length: 20 }, (_, i) => [i, i] as [number, number]);
  close(tailMean(pts), 18.5);
  close(tailMean([[0, 1], [1, NaN], [2, 3]]), 3);
  assert.ok(Number.isNaN(tailMean(undefined)));
});
