// trainer: trl for real: the model import, then sft → grpo → eval through the Python trainer
// (trainers/trl, PyTorch + TRL) on the tiny random Qwen2-VL fixture, on CPU. Checks that the spec's
// knobs reach TRL's config as the knob table says (from the result lineage's trlConfig), that the
// published artifact is a HF model dir with the lineage the contract names, and that the eval
// report is the same format as a TF.js eval. Needs the Python env: without it this file FAILS with
// the command to run (it is never skipped silently).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runModelStage } from '../../activities/model';
import { runSftStage } from '../../activities/sft';
import { runGrpoStage } from '../../activities/grpo';
import { runEvalStage } from '../../activities/eval';
import type { ResolvedInput, StageOutput } from '../../activities/types';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { pythonEnv } from '../../lib/python-env';
import { resolveParams } from '../../lib/spec/defaults';
import type { JsonObject } from '../../lib/canonical';
import type { SpecKind } from '../../lib/spec/kinds';
import { makeStageContext } from '../helpers/stage-harness';
import { cotInput, datasetInput, harnessContext, stageRef, tempStore } from './pretrain-fixtures';

const env = pythonEnv();
if (!('python' in env)) throw new Error(`test/activities/trl.test.ts needs the project's Python env (${env.missing}); install it with \`npm run setup:python\``);
const PYTHON = env.python;
const REPO = path.resolve(__dirname, '..', '..');

const root = tempStore();
const dataRoot = path.join(root, 'data');
let ds: ResolvedInput;
let base: ResolvedInput;
let sftOut: ResolvedInput;
let grpoOut: ResolvedInput;

function params(kind: SpecKind, p: JsonObject): JsonObject {
  return resolveParams(kind, { trainer: 'trl', ...p }); // as the compiler resolves them
}

function asInput(input: string, from: string, kind: 'hf-model', dir: string): ResolvedInput {
  return { input, from, artifactId: `${from}0`, kind, dir, manifest: {} };
}

const ENV = { CLGRPO_DATA_ROOT: dataRoot, PATH: process.env.PATH, HOME: process.env.HOME, OMP_NUM_THREADS: '1', CLGRPO_TRL_DEVICE: 'cpu' };

before(() => {
  fs.mkdirSync(path.join(dataRoot, 'fixtures'), { recursive: true });
  const r = spawnSync(PYTHON, ['-m', 'trainers.trl.fixtures', path.join(dataRoot, 'fixtures', 'tiny-vlm'), '--family', 'qwen2-vl'],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' } });
  assert.equal(r.status, 0, `building the fixture failed:\n${r.stderr}`);
  ds = datasetInput(root, { train: 16, val: 4, test: 6 });
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

test('model: imports a HF model dir as an hf-model artifact; a dir without its tokenizer is one error naming the path and the file', async () => {
  const h = harnessContext(root, stageRef('model', { path: 'fixtures/tiny-vlm', dataRoot: 'data' }), [], 'model');
  const out = await runModelStage(makeStageContext({ ...h, env: ENV }).ctx);
  assert.equal(out.kind, 'hf-model');
  assert.equal(out.lineage?.modelType, 'qwen2_vl');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'processor_config.json']) assert.ok(fs.existsSync(path.join(h.outDir, f)), f);
  base = asInput('model', 'vlm', 'hf-model', h.outDir);

  const broken = path.join(dataRoot, 'fixtures', 'broken');
  fs.cpSync(path.join(dataRoot, 'fixtures', 'tiny-vlm'), broken, { recursive: true });
  fs.rmSync(path.join(broken, 'tokenizer.json'));
  fs.rmSync(path.join(broken, 'tokenizer_config.json'));
  const hb = harnessContext(root, stageRef('model', { path: 'fixtures/broken', dataRoot: 'data' }), [], 'model-broken');
  await assert.rejects(runModelStage(makeStageContext({ ...hb, env: ENV }).ctx), (e: unknown) => {
    assert.ok(e instanceof ClgrpoError);
    assert.equal(e.type, ErrorType.Config);
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /fixtures\/broken is not a Hugging Face model dir: it lacks tokenizer\.json or tokenizer_config\.json \(the tokenizer\)/);
    return true;
  });
});

function checkTrlLineage(out: StageOutput): JsonObject {
  const l = out.lineage as JsonObject;
  assert.equal(l.trainer, 'trl');
  const v = l.versions as Record<string, string>;
  for (const k of ['python', 'torch', 'transformers', 'trl', 'accelerate']) assert.equal(typeof v[k], 'string', `versions.${k}`);
  assert.equal(typeof l.device, 'string');
  assert.equal(l.dtype, 'float32'); // auto on CPU
  return l.trlConfig as JsonObject;
}

test('sft (trl, cot target): the knobs reach SFTConfig; the artifact is a HF model dir with training.json', async () => {
  const p = params('sft', { steps: 3, batchSize: 4, lr: 0.002, warmupSteps: 1, weightDecay: 0.05, gradClip: 0.5, checkpointEvery: 2, keepCheckpoints: 1 });
  const h = harnessContext(root, stageRef('sft', p), [base, cotInput(root, ds)], 'sft');
  const { ctx, heartbeats } = makeStageContext({ ...h, env: ENV });
  const out = await runSftStage(ctx);
  assert.equal(out.kind, 'hf-model');
  const c = checkTrlLineage(out);
  assert.equal(c.max_steps, 3);
  assert.equal(c.per_device_train_batch_size, 4);
  assert.equal(c.learning_rate, 0.002);
  assert.equal(c.warmup_steps, 1);
  assert.equal(c.weight_decay, 0.05);
  assert.equal(c.max_grad_norm, 0.5);
  assert.equal(c.save_steps, 2);
  assert.ok(fs.existsSync(path.join(h.outDir, 'model.safetensors')));
  const training = JSON.parse(fs.readFileSync(path.join(h.outDir, 'training.json'), 'utf8')) as { curves: Record<string, unknown[]> };
  assert.ok(training.curves.loss.length > 0);
  assert.ok(heartbeats.some((b) => b.step === 3 && b.total === 3));
  assert.ok(heartbeats.some((b) => typeof b.checkpoint === 'string'), 'a checkpoint reached a heartbeat');
  sftOut = asInput('model', 'sft', 'hf-model', h.outDir);
});

test('grpo (trl, ClipLow): the knobs reach GRPOConfig; zeroAdvantageFrac is a metric', async () => {
  const p = params('clgrpo', { rewards: ['format', { name: 'accuracy', weight: 2 }], steps: 2, groupSize: 4, promptsPerStep: 2, microBatch: 4,
    beta: 0.02, lr: 0.0005, temperature: 0.9, topP: 0.95, maxNewTokens: 8, checkpointEvery: 1, keepCheckpoints: 2 });
  const h = harnessContext(root, stageRef('grpo', p), [sftOut, { ...ds, input: 'dataset' }], 'grpo');
  const out = await runGrpoStage(makeStageContext({ ...h, env: ENV }).ctx);
  assert.equal(out.kind, 'hf-model');
  const c = checkTrlLineage(out);
  assert.equal(c.num_generations, 4);
  assert.equal(c.per_device_train_batch_size, 4);
  assert.equal(c.gradient_accumulation_steps, 2); // 2 prompts × 4 completions / microBatch 4
  assert.equal(c.num_iterations, 2);
  assert.equal(c.max_steps, 4); // steps × iterations
  assert.equal(c.epsilon, 0.2);
  assert.equal(c.epsilon_high, 0.1);
  assert.equal(c.beta, 0.02);
  assert.equal(c.learning_rate, 0.0005);
  assert.equal(c.temperature, 0.9);
  assert.equal(c.top_p, 0.95);
  assert.equal(c.max_completion_length, 8);
  assert.deepEqual(c.reward_weights, [1, 2]);
  assert.equal(c.loss_type, 'grpo');
  assert.equal(c.save_steps, 2);
  assert.equal(typeof out.metrics.zeroAdvantageFrac, 'number');
  assert.ok(fs.existsSync(path.join(h.outDir, 'model.safetensors')));
  grpoOut = asInput('model', 'clgrpo', 'hf-model', h.outDir);
});

test('eval (trl): predictions parsed and scored by the TF.js eval code; report.json has one row per model', async () => {
  const p = params('eval', { maxNewTokens: 8, batchSize: 6 });
  const models = [{ ...base, input: 'models' }, { ...grpoOut, input: 'models' }];
  const h = harnessContext(root, stageRef('eval', p), [...models, { ...ds, input: 'dataset' }], 'eval');
  const out = await runEvalStage(makeStageContext({ ...h, env: ENV }).ctx);
  assert.equal(out.kind, 'eval-report');
  const report = JSON.parse(fs.readFileSync(path.join(h.outDir, 'report.json'), 'utf8')) as { split: string; labels: string[]; models: Array<{ name: string; n: number; accuracy: number; confusion: number[][] }> };
  assert.equal(report.split, 'test');
  assert.deepEqual(report.models.map((m) => m.name), ['vlm', 'clgrpo']);
  for (const m of report.models) {
    assert.equal(m.n, 6);
    assert.equal(m.confusion.length, report.labels.length);
    assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 6);
  }
  const lines = fs.readFileSync(path.join(h.outDir, 'predictions.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 12);
  assert.equal((out.lineage as JsonObject).trainer, 'trl');
});
