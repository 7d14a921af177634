// The sft stage in process on a tiny model: every trainable variable changes and the loss falls
// (cot target), the label baseline trains with the same prompt, divergence and cancellation are
// typed, and pretrain's `init` import round-trips a model.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo, initBackend } from '../../lib/ml/backend';
import { openDataset } from '../../lib/ml/data/dataset';
import { loadModelDir } from '../../lib/ml/model-io';
import { decodeSafetensors } from '../../lib/ml/safetensors';
import { parseCompletion, TASK_PROMPT } from '../../lib/ml/prompt';
import { runPretrainStage } from '../../activities/pretrain';
import { runSftStage } from '../../activities/sft';
import { ErrorType } from '../../lib/errors';
import type { ResolvedInput } from '../../activities/types';
import { makeStageContext } from '../helpers/stage-harness';
import { cotInput, datasetInput, harnessContext, stageRef, tempStore, TINY_PRETRAIN } from './pretrain-fixtures';

const root = tempStore();
let ds: ResolvedInput;
let base: ResolvedInput;

before(async () => {
  await initBackend({ env: { TFJS_BACKEND: 'wasm' } });
  ds = datasetInput(root);
  const h = harnessContext(root, stageRef('pretrain', { ...TINY_PRETRAIN, steps: 4 }), [ds], 'base');
  await runPretrainStage(makeStageContext(h).ctx);
  base = { input: 'model', from: 'base', artifactId: 'base0', kind: 'model', dir: h.outDir, manifest: {} };
});

const SFT = { target: 'cot', steps: 24, batchSize: 8, lr: 3e-3, warmupSteps: 2, weightDecay: 0.01, gradClip: 1, checkpointEvery: 10, keepCheckpoints: 2 };

function weights(dir: string) {
  return decodeSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors'))).tensors;
}

test('sft on CoT: every trainable variable changes and the loss falls', async () => {
  const cot = cotInput(root, ds);
  const h = harnessContext(root, stageRef('sft', SFT), [base, cot], 'sft-cot');
  const { ctx, heartbeats } = makeStageContext(h);
  const out = await runSftStage(ctx);
  assert.equal(out.kind, 'model');
  assert.equal(out.metrics.steps, 24);
  const before = weights(base.dir);
  const after = weights(h.outDir);
  assert.equal(after.size, before.size);
  for (const [name, t] of before) {
    const a = after.get(name)!;
    let diff = 0;
    for (let i = 0; i < t.data.length; i++) diff = Math.max(diff, Math.abs(a.data[i] - t.data[i]));
    assert.ok(diff > 0, `${name} did not change`);
  }
  const training = JSON.parse(fs.readFileSync(path.join(h.outDir, 'training.json'), 'utf8'));
  const loss: number[] = training.curves.loss.map(([, v]: [number, number]) => v);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(loss.slice(-4)) < 0.8 * mean(loss.slice(0, 4)), `loss ${loss.map((x) => x.toFixed(2)).join(' ')}`);
  assert.equal(training.kind, 'sft');
  assert.ok(heartbeats.some((hb) => hb.checkpoint === 'checkpoints/step-00000010'));
  assert.equal(heartbeats.at(-2)!.metrics!.loss, loss.at(-1));
  const b = backendInfo();
  assert.deepEqual(out.lineage!.backend, { name: 'wasm', tfBackend: 'wasm', tfjsVersion: b.tfjsVersion, fixes: b.fixes, failed: [], forced: 'wasm' });
  // The cot target: the recorded completion is that image's line of cot.jsonl, well formed.
  const ex = out.lineage!.targetExample as { image: number; completion: string };
  const line = fs.readFileSync(path.join(cot.dir, 'cot.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.index === ex.image);
  assert.equal(ex.completion, line.completion);
  assert.deepEqual(parseCompletion(ex.completion), { wellFormed: true, think: line.think, answer: line.label });
  // The tokenizer travels unchanged from the base model.
  const cfg = JSON.parse(fs.readFileSync(path.join(h.outDir, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.tokenizer, JSON.parse(fs.readFileSync(path.join(base.dir, 'config.json'), 'utf8')).tokenizer);
  const { tokenizer } = loadModelDir(h.outDir);
  assert.equal(tokenizer.decode(tokenizer.encode(TASK_PROMPT)), TASK_PROMPT);
});

test('sft label baseline: completion is <answer>label</answer>, evalLoss is reported', async () => {
  const data = { ...ds, input: 'data' };
  const h = harnessContext(root, stageRef('sft', { ...SFT, target: 'label', steps: 6 }), [base, data], 'sft-label');
  const out = await runSftStage(makeStageContext(h).ctx);
  assert.equal(out.lineage!.target, 'label');
  assert.ok(Number.isFinite(out.metrics.evalLoss));
  // The completion the stage trained on, as it recorded it: the answer alone, the image's own label.
  const ex = out.lineage!.targetExample as { image: number; completion: string };
  const sample = openDataset(ds.dir).samples('train').find((s) => s.index === ex.image);
  assert.ok(sample, `image ${ex.image} is in the train split`);
  assert.equal(ex.completion, `<answer>${sample.label}</answer>`);
  assert.deepEqual(parseCompletion(ex.completion), { wellFormed: false, answer: sample.label });
});

test('a non-finite loss fails with a non-retryable Divergence naming the step, publishing nothing', async () => {
  const cot = cotInput(root, ds, 'cot-nan');
  const h = harnessContext(root, stageRef('sft', { ...SFT, lr: 1e30, gradClip: 0, warmupSteps: 0 }), [base, cot], 'sft-nan');
  await assert.rejects(runSftStage(makeStageContext(h).ctx), (e: { type?: string; message: string }) => {
    assert.equal(e.type, ErrorType.Divergence);
    assert.match(e.message, /at step \d+/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(h.outDir), []);
});

test('cancellation stops at the next step, keeps a checkpoint, and a rerun resumes from it', async () => {
  const cot = cotInput(root, ds, 'cot-cancel');
  const h = harnessContext(root, stageRef('sft', { ...SFT, steps: 8, checkpointEvery: 100 }), [base, cot], 'sft-cancel');
  const ac = new AbortController();
  const { ctx } = makeStageContext(h, { signal: ac.signal, onHeartbeat: (hb) => { if (hb.step === 3) ac.abort(); } });
  await assert.rejects(runSftStage(ctx), (e: { type?: string }) => e.type === ErrorType.Cancelled);
  assert.equal(fs.readFileSync(path.join(h.workDir, 'checkpoints', 'LATEST'), 'utf8'), 'step-00000003');
  const again = makeStageContext(h);
  const out = await runSftStage(again.ctx);
  assert.equal(out.lineage!.resumedFromStep, 3);
  assert.equal(again.heartbeats[0].step, 4);
});

test('pretrain init: imports a model dir (inside the data root) without training', async () => {
  const env = { TFJS_BACKEND: 'wasm', CLGRPO_DATA_ROOT: root };
  const h = { ...harnessContext(root, stageRef('pretrain', { ...TINY_PRETRAIN, init: path.relative(root, base.dir) }), [], 'init'), env };
  const out = await runPretrainStage(makeStageContext(h).ctx);
  assert.equal(out.metrics.steps, 0);
  assert.deepEqual(fs.readFileSync(path.join(h.outDir, 'model.safetensors')), fs.readFileSync(path.join(base.dir, 'model.safetensors')));
  const notModel = { ...harnessContext(root, stageRef('pretrain', { ...TINY_PRETRAIN, init: 'artifacts' }), [], 'init-bad'), env };
  await assert.rejects(runPretrainStage(makeStageContext(notModel).ctx), (e: { type?: string }) => e.type === ErrorType.Config);
  for (const init of ['../outside', base.dir]) {
    const escape = { ...harnessContext(root, stageRef('pretrain', { ...TINY_PRETRAIN, init }), [], 'init-escape'), env };
    await assert.rejects(runPretrainStage(makeStageContext(escape).ctx), (e: { type?: string }) => e.type === ErrorType.PathEscape);
  }
});
