// The compiler: defaults from the schema, the clgrpo alias, overrides, matrix expansion, input
// bindings, topological order, policies, and stage keys that move exactly when they should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSpecFile, loadSpecText, type PipelineSpec } from '../../../lib/spec';
import { compilePlan, loadAndCompile, type Plan, type PlanStage } from '../../../lib/plan';
import { parseDuration } from '../../../lib/plan/durations';
import { SpecError } from '../../../lib/spec/located';

// The frozen copy of the first demo: pipelines/demo.yaml is tuned by hand, these tests must not move with it.
const DEMO = join(__dirname, '..', '..', 'fixtures', 'specs', 'good', 'golden.yaml');

function demo(set: string[] = []): Plan {
  return loadAndCompile(DEMO, { set });
}
function stage(plan: Plan, id: string): PlanStage {
  const s = plan.stages.find((x) => x.id === id);
  assert.ok(s, `no stage ${id} in ${plan.stages.map((x) => x.id).join(', ')}`);
  return s;
}

void test('defaults come from the schema; clgrpo compiles to grpo with the ClipLow bounds', () => {
  const plan = demo();
  const fmt = stage(plan, 'grpo_fmt');
  assert.deepEqual(fmt.params.clip, { low: 0.2, high: 0.2 });
  assert.equal(fmt.params.beta, 0.04);
  assert.equal(fmt.params.iterations, 2);
  assert.deepEqual(fmt.params.rewards, [{ name: 'format', weight: 1 }]);
  const cl = stage(plan, 'clgrpo');
  assert.equal(cl.kind, 'grpo');
  assert.deepEqual(cl.params.clip, { low: 0.2, high: 0.1 });
  assert.equal(stage(plan, 'data').params.noise, 0.15);
  assert.equal(stage(plan, 'sft').params.target, 'cot');
  assert.equal(stage(plan, 'baseline').params.target, 'label');
  assert.deepEqual((stage(plan, 'cot').params.teachers as unknown[])[0], { type: 'attributes', id: 'attributes', noise: 0 });
  assert.equal(plan.dataRoot, 'data');
  assert.equal(plan.maxParallel, 2);
});

void test('a clgrpo stage that sets only clip.high keeps the ClipLow low bound', () => {
  const plan = demo(['stages.clgrpo.params.clip={high: 0.15}']);
  assert.deepEqual(stage(plan, 'clgrpo').params.clip, { low: 0.2, high: 0.15 });
});

void test('bindings: direct needs first, else the nearest ancestor; eval takes every model in needs order', () => {
  const plan = demo();
  assert.deepEqual(stage(plan, 'sft').inputs, [{ input: 'model', from: 'base', kind: 'model' }, { input: 'data', from: 'cot', kind: 'cot-dataset' }]);
  assert.deepEqual(stage(plan, 'grpo_fmt').inputs.map((b) => `${b.input}<-${b.from}`), ['model<-sft', 'dataset<-data']);
  assert.deepEqual(stage(plan, 'eval').inputs.map((b) => `${b.input}<-${b.from}`),
    ['models<-baseline', 'models<-sft', 'models<-grpo_fmt', 'models<-grpo_full', 'models<-clgrpo', 'dataset<-data']);
  assert.equal(stage(plan, 'eval').output, 'eval-report');
});

void test('stages are in topological order', () => {
  for (const file of ['demo', 'clgrpo-synthetic', 'ablation-clip', 'emoset']) {
    const plan = loadAndCompile(join(__dirname, '..', '..', '..', 'pipelines', `${file}.yaml`));
    const seen = new Set<string>();
    for (const s of plan.stages) {
      for (const n of [...s.needs, ...s.inputs.map((b) => b.from)]) assert.ok(seen.has(n), `${s.id} before its need ${n}`);
      seen.add(s.id);
    }
  }
});

void test('queue, retry and timeouts: stage over defaults over built-ins', () => {
  const plan = demo(['stages.sft.timeouts={heartbeat: 2m}', 'stages.sft.queue=gpu', 'stages.sft.retry={maximumInterval: 1h}']);
  const sft = stage(plan, 'sft');
  assert.equal(sft.queue, 'gpu');
  assert.deepEqual(sft.timeouts, { startToCloseMs: 6 * 3_600_000, heartbeatMs: 120_000 });
  assert.deepEqual(sft.retry, { maximumAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 3_600_000 });
  assert.equal(stage(plan, 'data').queue, 'cpu');
  assert.equal(stage(plan, 'data').timeouts.startToCloseMs, 30 * 60_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.throws(() => parseDuration('90 seconds'), /not a duration/);
});

void test('keys: stable under key order and spelling, changed downstream only', () => {
  const a = demo();
  const text = 'schemaVersion: 1\nname: demo\nstages:\n  data: { params: { train: 400, source: synthetic }, kind: dataset }\n';
  const b1 = loadSpecText(text, 'a.yaml');
  const b2 = loadSpecText('name: demo\nschemaVersion: 1\nstages:\n  data: { kind: dataset, params: { source: synthetic, train: 4.0e2 } }\n', 'b.yaml');
  assert.ok('spec' in b1 && 'spec' in b2);
  const p1 = compilePlan(b1.spec);
  const p2 = compilePlan(b2.spec);
  assert.ok('plan' in p1 && 'plan' in p2);
  assert.equal(p1.plan.stages[0].key, p2.plan.stages[0].key);
  assert.equal(p1.plan.specHash, p2.plan.specHash);
  // `rewards: [format]` and `[{name: format, weight: 1}]` are one configuration
  assert.equal(stage(demo(['stages.grpo_fmt.params.rewards=[{name: format, weight: 1}]']), 'grpo_fmt').key, stage(a, 'grpo_fmt').key);
  const changed = demo(['stages.grpo_full.params.steps=11']);
  for (const id of ['data', 'base', 'cot', 'sft', 'grpo_fmt', 'baseline']) assert.equal(stage(changed, id).key, stage(a, id).key, id);
  assert.notEqual(stage(changed, 'grpo_full').keyParts.params, stage(a, 'grpo_full').keyParts.params);
  assert.equal(stage(changed, 'grpo_full').keyParts.inputs, stage(a, 'grpo_full').keyParts.inputs);
  assert.equal(stage(changed, 'clgrpo').keyParts.params, stage(a, 'clgrpo').keyParts.params);
  assert.notEqual(stage(changed, 'clgrpo').keyParts.inputs, stage(a, 'clgrpo').keyParts.inputs);
  assert.notEqual(stage(changed, 'eval').key, stage(a, 'eval').key);
  // the plan seed is part of every key
  assert.notEqual(stage(demo(['seed=8']), 'data').key, stage(a, 'data').key);
  // the queue is not
  assert.equal(stage(demo(['stages.data.queue=gpu']), 'data').key, stage(a, 'data').key);
});

void test('matrix over clip.high: concrete ids, shared upstream once, eval takes every variant', () => {
  const plan = demo(['stages.clgrpo.matrix={clip.high: [0.05, 0.1]}']);
  assert.deepEqual(plan.stages.map((s) => s.id), ['data', 'base', 'cot', 'sft', 'grpo_fmt', 'grpo_full',
    'clgrpo[clip.high=0.05]', 'clgrpo[clip.high=0.1]', 'baseline', 'eval']);
  const v = stage(plan, 'clgrpo[clip.high=0.05]');
  assert.equal(v.baseId, 'clgrpo');
  assert.deepEqual(v.matrix, { 'clip.high': 0.05 });
  assert.deepEqual(v.params.clip, { low: 0.2, high: 0.05 });
  // the 0.1 cell is the unswept clgrpo (its default): the same key, so the store would reuse it
  assert.equal(stage(plan, 'clgrpo[clip.high=0.1]').key, stage(demo(), 'clgrpo').key);
  assert.deepEqual(stage(plan, 'eval').inputs.filter((b) => b.input === 'models').map((b) => b.from).slice(-2),
    ['clgrpo[clip.high=0.05]', 'clgrpo[clip.high=0.1]']);
  assert.deepEqual(stage(plan, 'eval').needs.slice(-3), ['clgrpo[clip.high=0.05]', 'clgrpo[clip.high=0.1]', 'data']);
});

void test('matrix over seed: the stage and everything downstream fan out and inherit the seed', () => {
  const plan = demo(['stages.data.matrix={seed: [1, 2]}']);
  assert.equal(plan.stages.length, 18);
  assert.equal(stage(plan, 'data[seed=2]').seed, 2);
  const sft = stage(plan, 'sft[seed=2]');
  assert.equal(sft.seed, 2);
  assert.deepEqual(sft.inputs.map((b) => b.from), ['base[seed=2]', 'cot[seed=2]']);
  const ev = stage(plan, 'eval[seed=1]');
  assert.ok(ev.inputs.every((b) => b.from.endsWith('[seed=1]')), JSON.stringify(ev.inputs));
  // a stage that pins its seed keeps it
  const pinned = demo(['stages.data.matrix={seed: [1, 2]}', 'stages.base.seed=5']);
  assert.equal(stage(pinned, 'base[seed=2]').seed, 5);
});

void test('two matrices: cells combine, and a key both vary is qualified by its stage', () => {
  const plan = demo(['stages.data.matrix={seed: [1, 2]}', 'stages.clgrpo.matrix={seed: [3, 4]}']);
  assert.ok(plan.stages.some((s) => s.id === 'clgrpo[data.seed=1,clgrpo.seed=4]'));
  assert.equal(stage(plan, 'clgrpo[data.seed=1,clgrpo.seed=4]').seed, 4);
  const ev = stage(plan, 'eval[seed=2]');
  assert.equal(ev.inputs.filter((b) => b.from.startsWith('clgrpo[')).length, 2);
});

void test('overrides are re-validated and their errors name the override', () => {
  const loaded = loadSpecFile(DEMO);
  assert.ok('spec' in loaded);
  const r = compilePlan(loaded.spec, { overrides: ['stages.grpo_fmt.params.steps=-1', 'stages.base.params.lrr=1'] });
  assert.ok('errors' in r);
  assert.equal(r.errors[0].file, '--set #1');
  assert.match(r.errors[0].message, /must be ≥ 1 \(got -1\) \(from --set stages\.grpo_fmt\.params\.steps=-1\)/);
  assert.match(r.errors[1].hint ?? '', /did you mean 'lr'/);
  for (const bad of ['nope', 'a..b=1', 'stages.data.__proto__.x=1', 'description=&a x', 'description=!!str x']) {
    const e = compilePlan(loaded.spec, { overrides: [bad] });
    assert.ok('errors' in e, bad);
    assert.match(e.errors[0].file, /^--set #1$/);
  }
  assert.throws(() => loadAndCompile(DEMO, { set: ['stages.grpo_fmt.params.groupSize=3'] }),
    (e: unknown) => e instanceof SpecError && e.type === 'SpecError' && /2 × 3 = 6 is not divisible by microBatch 8/.test(e.message));
  // the loaded spec object is not changed by overrides
  assert.equal((loaded.spec.stages.grpo_fmt.params as { steps: number }).steps, 5);
});

void test('a spec built in code is checked too', () => {
  const spec = { schemaVersion: 1, name: 'x', stages: { data: { kind: 'dataset', params: { train: -1 } } } } as unknown as PipelineSpec;
  const r = compilePlan(spec);
  assert.ok('errors' in r);
  assert.equal(r.errors[0].file, '<spec>');
  assert.equal(r.errors[0].path, 'stages.data.params.train');
});

void test('stages that read user files carry the data root in their params; synthetic data does not', () => {
  const emoset = loadAndCompile(join(__dirname, '..', '..', '..', 'pipelines', 'emoset.yaml'));
  assert.equal(stage(emoset, 'data').params.dataRoot, 'data');
  assert.equal(stage(emoset, 'data').params.ambiguity, 0);
  assert.equal(stage(demo(), 'data').params.dataRoot, undefined);
  const init = demo(['stages.base.params.init=checkpoints/base', 'defaults.dataRoot=/srv/data']);
  assert.equal(stage(init, 'base').params.dataRoot, '/srv/data');
  assert.deepEqual(stage(init, 'base').inputs, []);
  assert.equal(init.dataRoot, '/srv/data');
});

void test('a warning caused by one matrix cell is a warning, once, naming the cell', () => {
  const loaded = loadSpecFile(DEMO);
  assert.ok('spec' in loaded);
  const r = compilePlan(loaded.spec, { overrides: ['stages.clgrpo.matrix={iterations: [1, 2]}'] });
  assert.ok('plan' in r, JSON.stringify('errors' in r ? r.errors : []));
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0].message, /in clgrpo\[iterations=1\]: iterations is 1/);
  const both = compilePlan(loaded.spec, { overrides: ['stages.clgrpo.matrix={clip.high: [0.05, 0.1]}', 'stages.clgrpo.params.iterations=1'] });
  assert.ok('plan' in both);
  assert.equal(both.warnings.length, 1);
});
