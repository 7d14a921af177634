// The pre-registered comparisons' statistics (issue 13): the bootstrap on cases with a known answer,
// the comparisons derived from a 5-seed fixture of pipelines/clgrpo-seeds.yaml, and their rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAndCompile } from '../../lib/plan';
import { MAX_PLAN_STAGES } from '../../lib/plan/compile';
import type { RunRecord } from '../../lib/store';
import { planLineage, runSummary, stageInfos } from '../../lib/report/collect';
import type { EvalResults, ReportData } from '../../lib/report/model';
import { buildResultsTables } from '../../lib/report/aggregate';
import { bootstrapMeans, pairedStats, quantileSorted } from '../../lib/report/bootstrap';
import { renderMarkdown } from '../../lib/report/render-md';
import { renderHtml } from '../../lib/report/render-html';
import { statComparisons, stageUpdates, updatesSincePretrain, verdict } from '../../lib/report/stats-compare';
import { fixtureReportData, SEEDS5 } from './fixtures/report-data';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

/** Every one of the n^n equally likely resamples' means, sorted: the exact bootstrap distribution. */
function exactMeans(xs: number[]): number[] {
  const n = xs.length;
  const out: number[] = [];
  for (let code = 0; code < n ** n; code++) {
    let s = 0;
    for (let i = 0, c = code; i < n; i++, c = Math.floor(c / n)) s += xs[c % n];
    out.push(s / n);
  }
  return out.sort((a, b) => a - b);
}

void test('quantileSorted is the inverse empirical CDF (type 1)', () => {
  const xs = [1, 2, 3, 4];
  assert.equal(quantileSorted(xs, 0.25), 1);
  assert.equal(quantileSorted(xs, 0.26), 2);
  assert.equal(quantileSorted(xs, 0.975), 4);
  assert.equal(quantileSorted(xs, 0), 1);
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
});

void test('bootstrap: a constant difference gives a zero-width interval at that value', () => {
  const s = pairedStats([1.5, 1.5, 1.5, 1.5, 1.5]);
  assert.deepEqual([s.n, s.mean, s.lo, s.hi, s.positive, s.spansZero], [5, 1.5, 1.5, 1.5, 5, false]);
  assert.equal(s.resamples, 10_000);
  const z = pairedStats([0, 0, 0]);
  assert.deepEqual([z.lo, z.hi, z.positive, z.negative, z.spansZero], [0, 0, 0, 0, true]);
  assert.equal(verdict(z), 'not distinguishable from 0');
});

void test('bootstrap: the percentile interval matches the exact enumeration of all 4^4 resamples', () => {
  const xs = [-1, 0, 2, 5];
  const exact = exactMeans(xs);
  const lo = quantileSorted(exact, 0.025);
  const hi = quantileSorted(exact, 0.975);
  // The exact CDF must not sit on the 2.5 % / 97.5 % boundary, or Monte Carlo noise could pick the neighbour.
  const below = (v: number) => exact.filter((m) => m < v - 1e-12).length / exact.length;
  const atOrBelow = (v: number) => exact.filter((m) => m <= v + 1e-12).length / exact.length;
  assert.ok(below(lo) < 0.02 && atOrBelow(lo) > 0.03, `lower quantile ${lo} is not near a jump`);
  assert.ok(below(hi) < 0.97 && atOrBelow(hi) > 0.98, `upper quantile ${hi} is not near a jump`);
  const s = pairedStats(xs, { scope: ['exact'] });
  close(s.mean, 1.5);
  close(s.lo, lo);
  close(s.hi, hi);
  assert.equal(s.spansZero, lo <= 0 && hi >= 0);
  assert.deepEqual([s.positive, s.negative], [2, 1]);
  // n = 3 with a symmetric sample: the exact interval is symmetric about the mean.
  const e3 = exactMeans([-3, 0, 3]);
  const s3 = pairedStats([-3, 0, 3]);
  close(s3.lo, quantileSorted(e3, 0.025));
  close(s3.hi, quantileSorted(e3, 0.975));
  close(s3.lo, -s3.hi);
});

void test('bootstrap: seeded, so the same input and scope give the same interval; scope picks the stream', () => {
  const d = [0.4, -1.2, 2.5, 0.9, 1.7];
  assert.deepEqual(pairedStats(d, { scope: ['a'] }), pairedStats(d, { scope: ['a'] }));
  assert.deepEqual(bootstrapMeans(d, 50, 13, 'a'), bootstrapMeans(d, 50, 13, 'a'));
  assert.notDeepEqual(bootstrapMeans(d, 50, 13, 'a'), bootstrapMeans(d, 50, 13, 'b'));
  assert.notDeepEqual(bootstrapMeans(d, 50, 13, 'a'), bootstrapMeans(d, 50, 14, 'a'));
  const s = pairedStats(d);
  assert.ok(s.lo <= s.mean && s.mean <= s.hi);
  assert.ok(s.lo >= Math.min(...d) && s.hi <= Math.max(...d));
  assert.deepEqual([pairedStats([1e-13, -1e-13, 2]).positive, pairedStats([1e-13, -1e-13, 2]).negative], [1, 0], 'float noise is a tie');
  const empty = pairedStats([NaN]);
  assert.equal(empty.n, 0);
  assert.equal(verdict(empty), 'no paired seeds');
});

void test('updates: SFT steps, GRPO steps × iterations, summed back to the pretrained model', () => {
  const data = fixtureReportData({ pipeline: 'seeds' });
  const run = data.runs[0].id;
  const st = (id: string) => data.stages.find((s) => s.id === id)!;
  assert.equal(stageUpdates(st('grpo_full[seed=3]')), 160);
  assert.equal(stageUpdates(st('baseline[seed=3]')), 1340);
  assert.equal(stageUpdates(st('base[seed=3]')), undefined);
  assert.deepEqual(updatesSincePretrain(data, `${run}/clgrpo[seed=3,clip.high=0.1]`), { updates: 1340, origin: `${run}/base[seed=3]` });
  assert.deepEqual(updatesSincePretrain(data, `${run}/grpo_fmt[seed=1]`), { updates: 1020, origin: `${run}/base[seed=1]` });
  assert.equal(updatesSincePretrain(data, `${run}/nope`), undefined);
});

void test('statComparisons on the 5-seed clgrpo-seeds fixture: (a) matched updates, (b) and (c) same start', () => {
  const data = fixtureReportData({ pipeline: 'seeds' });
  const [t] = buildResultsTables(data);
  const cs = statComparisons(data, t);
  const pairs = cs.map((c) => `${c.family}: ${c.a} − ${c.b}`);
  assert.deepEqual(pairs, [
    'matched-updates: sft − baseline_sft',
    'matched-updates: grpo_fmt − baseline_fmt',
    'matched-updates: grpo_full − baseline_full',
    'matched-updates: clgrpo[clip.high=0.05] − baseline',
    'matched-updates: clgrpo[clip.high=0.1] − baseline',
    'matched-updates: clgrpo[clip.high=0.15] − baseline',
    'matched-updates: clgrpo[clip.high=0.2] − baseline',
    'same-start: clgrpo[clip.high=0.05] − clgrpo[clip.high=0.2]',
    'same-start: clgrpo[clip.high=0.1] − clgrpo[clip.high=0.2]',
    'same-start: clgrpo[clip.high=0.15] − clgrpo[clip.high=0.2]',
  ]);
  const b = cs.find((c) => c.a === 'clgrpo[clip.high=0.1]' && c.family === 'same-start')!;
  assert.equal(b.basis, 'same start (grpo_full), 80 steps each');
  // Paired by seed: the differences are the per-seed accuracy differences, in seed order, in points.
  const rowA = t.rows.find((r) => r.group === b.a)!;
  const rowB = t.rows.find((r) => r.group === b.b)!;
  assert.equal(b.stats.accuracy.n, SEEDS5.length);
  SEEDS5.forEach((s, i) => close(b.stats.accuracy.deltas[i], (rowA.bySeed[String(s)].accuracy - rowB.bySeed[String(s)].accuracy) * 100));
  close(b.stats.accuracy.mean, (rowA.metrics.accuracy.mean - rowB.metrics.accuracy.mean) * 100);
  assert.equal(b.stats.accuracy.positive, b.stats.accuracy.deltas.filter((d) => d > 0).length);
  assert.ok(b.stats.macroRecall.n === 5);
  // The fixture's grpo_fmt equals its matched baseline in expectation: its interval spans 0.
  const fmt = cs.find((c) => c.a === 'grpo_fmt')!;
  assert.ok(fmt.stats.accuracy.spansZero, `grpo_fmt − baseline_fmt: [${fmt.stats.accuracy.lo}, ${fmt.stats.accuracy.hi}]`);
  assert.equal(verdict(fmt.stats.accuracy), 'not distinguishable from 0');
  assert.ok(!b.stats.accuracy.spansZero);
});

void test('matched updates need equal budgets: a baseline one step off is not compared', () => {
  const data = fixtureReportData({ pipeline: 'seeds' });
  for (const s of data.stages) if (s.baseId === 'baseline_sft') s.params = { ...s.params, steps: 999 };
  const [t] = buildResultsTables(data);
  assert.ok(!statComparisons(data, t).some((c) => c.b === 'baseline_sft'));
});

void test('Markdown and HTML say "not distinguishable from 0" and draw one forest row per comparison', () => {
  const data = fixtureReportData({ pipeline: 'seeds' });
  const [t] = buildResultsTables(data);
  const n = statComparisons(data, t).length;
  const md = renderMarkdown(data);
  assert.match(md, /Pre-registered comparisons/);
  assert.match(md, /\| grpo_fmt − baseline_fmt \| 1020 optimizer updates each since base \| [^|]+ \| \d\/5 \| not distinguishable from 0 \|/);
  assert.match(md, /10,000 resamples/);
  const html = renderHtml(data);
  assert.match(html, /<td class="verdict zero">not distinguishable from 0<\/td>/);
  const forests = html.match(/<figure class="forest">[\s\S]*?<\/figure>/g) ?? [];
  assert.equal(forests.length, 2, 'accuracy and macro recall');
  for (const f of forests) {
    assert.equal((f.match(/<g class="forest-row">/g) ?? []).length, n);
    assert.equal((f.match(/class="zero-line"/g) ?? []).length, 1);
  }
  assert.equal((html.match(/<table class="stats">/g) ?? []).length, 1);
});

void test('the real pipelines/clgrpo-seeds.yaml, compiled, yields exactly its header\'s comparisons', () => {
  // The plan and lineage as collect.ts builds them from a run record, with made-up eval numbers:
  // what is checked is which comparisons the derivation finds on the real compiled shape.
  const plan = loadAndCompile(join(__dirname, '../../pipelines/clgrpo-seeds.yaml'));
  assert.ok(plan.stages.length <= MAX_PLAN_STAGES, `${plan.stages.length} stages`);
  const rec = { recordVersion: 1, workflowId: 'seeds', pipeline: plan.name, specHash: plan.specHash, plan, createdAt: '', updatedAt: '', status: 'succeeded', executions: [], stages: {} } as RunRecord;
  const stages = stageInfos(rec);
  const ev = plan.stages.filter((s) => s.kind === 'eval');
  assert.equal(ev.length, 5, 'one eval per seed');
  const evals: EvalResults[] = ev.map((e, ei) => ({ stageId: e.id, runId: 'seeds', split: 'test', labels: ['a', 'b'],
    models: e.inputs.filter((b) => b.input === 'models').map((b, i) => {
      const acc = 0.3 + ((i * 7 + ei * 3) % 11) / 100;
      return { stageId: b.from, runId: 'seeds', artifactId: b.from, n: 100, accuracy: acc, macroRecall: acc, perClassRecall: { a: acc, b: acc }, formatRate: 1, confusion: [[1, 0, 0], [0, 1, 0]] };
    }) }));
  const data: ReportData = { runs: [runSummary(rec)], stages, evals, curves: [], cot: [], lineage: planLineage([rec]), generatedAt: '', warnings: [] };
  const [t] = buildResultsTables(data);
  assert.equal(t.baseline, 'baseline', 'the 1340-update label SFT leads the table');
  const cs = statComparisons(data, t);
  assert.deepEqual(cs.map((c) => `${c.a} − ${c.b}: ${c.basis}`), [
    'sft − baseline_sft: 1000 optimizer updates each since base',
    'grpo_fmt − baseline_fmt: 1020 optimizer updates each since base',
    'grpo_full − baseline_full: 1180 optimizer updates each since base',
    'clgrpo[clip.high=0.05] − baseline: 1340 optimizer updates each since base',
    'clgrpo[clip.high=0.1] − baseline: 1340 optimizer updates each since base',
    'clgrpo[clip.high=0.15] − baseline: 1340 optimizer updates each since base',
    'clgrpo[clip.high=0.2] − baseline: 1340 optimizer updates each since base',
    'clgrpo[clip.high=0.05] − clgrpo[clip.high=0.2]: same start (grpo_full), 80 steps each',
    'clgrpo[clip.high=0.1] − clgrpo[clip.high=0.2]: same start (grpo_full), 80 steps each',
    'clgrpo[clip.high=0.15] − clgrpo[clip.high=0.2]: same start (grpo_full), 80 steps each',
  ]);
  for (const c of cs) assert.equal(c.stats.accuracy.n, 5, `${c.a} − ${c.b} is paired on all 5 seeds`);
});
