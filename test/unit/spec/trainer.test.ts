// trainer: trl in the spec and plan (issue 12): the normal form that keeps tfjs keys, the trl queue
// default, hf-model outputs and the `model` stage's data reading, the knob table's errors, the code
// identity that covers the Python trainer, and the zero-advantage helpers of both GRPO paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAndCompile, type Plan } from '../../../lib/plan';
import { hashJson } from '../../../lib/canonical';
import { STAGE_KINDS, type StageKind } from '../../../lib/plan/types';
import { resolveParams } from '../../../lib/spec/defaults';
import { loadSpecText } from '../../../lib/spec';
import { identityOf, projectGraph } from '../../../lib/code/identity';
import { zeroAdvantageFrac } from '../../../lib/ml/grpo/trainer';
import { zeroAdvantageWarning } from '../../../lib/report/collect';

const ROOT = join(__dirname, '..', '..', '..');
const CODE = Object.fromEntries(STAGE_KINDS.map((k) => [k, hashJson({ fixture: k })])) as Record<StageKind, string>;
const GOLDEN = join(ROOT, 'test', 'fixtures', 'specs', 'good', 'golden.yaml');

void test('trainer: tfjs written out is the default\'s normal form (same params, same key); trl gets dtype auto', () => {
  assert.deepEqual(resolveParams('sft', { trainer: 'tfjs', steps: 3 }), resolveParams('sft', { steps: 3 }));
  assert.equal(resolveParams('grpo', { trainer: 'trl', rewards: ['format'] }).dtype, 'auto');
  const plain = loadAndCompile(GOLDEN, { code: CODE });
  const explicit = loadAndCompile(GOLDEN, { code: CODE, set: ['stages.sft.params.trainer=tfjs', 'stages.eval.params.trainer=tfjs'] });
  assert.deepEqual(explicit.stages.map((s) => s.key), plain.stages.map((s) => s.key));
});

void test('pipelines/trl-tiny.yaml: model stage reads data, trl stages output hf-model, queue from defaults', () => {
  const plan: Plan = loadAndCompile(join(ROOT, 'pipelines', 'trl-tiny.yaml'), { code: CODE });
  const by = Object.fromEntries(plan.stages.map((s) => [s.id, s]));
  assert.equal(by.vlm.kind, 'model');
  assert.equal(by.vlm.output, 'hf-model');
  assert.equal(by.vlm.readsData, true);
  assert.equal(by.vlm.params.dataRoot, 'data');
  for (const id of ['sft', 'grpo_fmt', 'grpo_full', 'clgrpo']) assert.equal(by[id].output, 'hf-model', id);
  assert.deepEqual(by.sft.inputs.map((b) => [b.input, b.from, b.kind]), [['model', 'vlm', 'hf-model'], ['data', 'cot', 'cot-dataset']]);
  assert.deepEqual(by.eval.inputs.filter((b) => b.input === 'models').map((b) => b.from), ['vlm', 'sft', 'grpo_fmt', 'grpo_full', 'clgrpo']);
  assert.ok(plan.stages.every((s) => s.queue === 'cpu'));
  // Without defaults.queue a trl stage goes to gpu; the rest stays on cpu; a stage's own queue wins.
  const noDefault = loadAndCompile(join(ROOT, 'pipelines', 'trl-tiny.yaml'), { code: CODE, set: ['defaults={dataRoot: data}', 'stages.eval.queue=big'] });
  const q = Object.fromEntries(noDefault.stages.map((s) => [s.id, s.queue]));
  assert.deepEqual(q, { data: 'cpu', cot: 'cpu', vlm: 'cpu', sft: 'gpu', grpo_fmt: 'gpu', grpo_full: 'gpu', clgrpo: 'gpu', eval: 'big' });
});

void test('a knob the trainer cannot honour is a located error; float32 on tfjs is what it computes anyway', () => {
  const spec = (extra: string) => `schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n  base: { kind: pretrain, needs: [data] }\n  sft:\n    kind: sft\n    needs: [base, data]\n    params: { steps: 2${extra} }\n`;
  const bad = loadSpecText(spec(', dtype: bfloat16'), 'x.yaml');
  assert.ok('errors' in bad);
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.errors[0].path, 'stages.sft.params.dtype');
  assert.equal(bad.errors[0].line, 9);
  assert.match(bad.errors[0].hint ?? '', /set trainer: trl/);
  assert.ok('spec' in loadSpecText(spec(', dtype: float32'), 'x.yaml'));
});

void test('the code identity of sft, grpo and eval covers the trainer\'s Python sources and lock file; dataset\'s does not', () => {
  const g = projectGraph();
  for (const kind of ['sft', 'grpo', 'eval']) {
    const files = Object.keys(identityOf(g, kind).files);
    assert.ok(files.includes('trainers/trl/requirements.lock'), kind);
    assert.ok(files.includes('trainers/trl/__main__.py'), kind);
    assert.ok(files.some((f) => f === 'lib/stage/trainer-process.ts'), kind);
  }
  assert.ok(!Object.keys(identityOf(g, 'dataset').files).some((f) => f.startsWith('trainers/')));
  assert.ok(Object.keys(identityOf(g, 'model').files).includes('activities/model.ts'));
});

void test('zeroAdvantageFrac: the fraction of groups with all-equal rewards; the report warns on a run of 3', () => {
  assert.equal(zeroAdvantageFrac([1, 1, 0, 1, 0, 0, 0, 0], 4), 0.5);
  assert.equal(zeroAdvantageFrac([0, 0, 0, 0], 2), 1);
  assert.equal(zeroAdvantageFrac([1, 0], 2), 0);
  const tc = (vals: number[]) => ({ stageId: 'g', runId: 'r', kind: 'grpo', steps: vals.length, curves: { zeroAdvantageFrac: vals.map((v, i) => [i + 1, v] as [number, number]) } });
  assert.equal(zeroAdvantageWarning(tc([1, 1, 0.5, 1, 1]), 'r/g'), undefined);
  assert.match(zeroAdvantageWarning(tc([0.5, 1, 1, 1]), 'r/g') ?? '', /^r\/g: zero advantage in 3 of 4 steps \(longest run 3\)/);
});
