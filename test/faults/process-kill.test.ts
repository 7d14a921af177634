// FAULTS 11 and 13 at exact points, with real processes: the stage runs in a child (stage harness),
// which SIGKILLs itself at a compiled-in crash point (lib/faults/crash-points.ts) or is killed from
// outside, then the stage is rerun on the same work dir.
// - between a checkpoint's data write and its LATEST pointer write: the rerun resumes from the
//   pointed (older) checkpoint, not step 0 and not the unpointed one, and ends bit-identical;
// - mid-eval (one model scored, the next not): nothing is left in the output, the rerun's report
//   equals an uninterrupted run's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResolvedInput } from '../../activities/types';
import { initBackend } from '../../lib/ml/backend';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import { VlmModel, modelConfig } from '../../lib/ml/model';
import { writeModelFiles } from '../../lib/ml/model-io';
import { tokenizerCorpus } from '../../lib/ml/prompt';
import { Tokenizer } from '../../lib/ml/tokenizer';
import { rngFor } from '../../lib/rng';
import { runStageInChild, type HarnessContext } from '../helpers/stage-harness';
import { datasetInput, harnessContext, stageRef, tempStore, TINY_PRETRAIN } from '../activities/pretrain-fixtures';

const REPO = path.resolve(__dirname, '../..');
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const roots: string[] = [];
after(() => { for (const r of roots) fs.rmSync(r, { recursive: true, force: true }); });

function crashEnv(h: HarnessContext, at: string, mark: string): HarnessContext {
  return { ...h, env: { ...h.env, CLGRPO_CRASH_AT: at, CLGRPO_CRASH_MARK: mark } };
}

test('SIGKILL between a checkpoint write and its LATEST pointer: resume from the pointed checkpoint, bit-identical end', async () => {
  const root = tempStore();
  roots.push(root);
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', TINY_PRETRAIN); // 12 steps, a checkpoint every 4
  const module = path.join(REPO, 'activities/pretrain.ts');

  const whole = harnessContext(root, stage, [ds], 'whole');
  const a = await runStageInChild(module, 'runPretrainStage', whole);
  assert.equal(a.code, 0, JSON.stringify(a.error));

  const mark = path.join(root, 'crash-mark');
  const run = harnessContext(root, stage, [ds], 'crashed');
  // The second save (step 8) dies after renaming step-00000008 into place, before LATEST moves.
  const b1 = await runStageInChild(module, 'runPretrainStage', crashEnv(run, 'checkpoint.before-latest@2', mark));
  assert.equal(b1.signal, 'SIGKILL', `expected the crash point to kill the child: ${JSON.stringify(b1.error)}`);
  assert.match(fs.readFileSync(mark, 'utf8'), /^checkpoint\.before-latest \d+/);
  const ckDir = path.join(run.workDir, 'checkpoints');
  assert.equal(fs.readFileSync(path.join(ckDir, 'LATEST'), 'utf8').trim(), 'step-00000004');
  assert.ok(fs.existsSync(path.join(ckDir, 'step-00000008', 'manifest.json')), 'the unpointed checkpoint is on disk');
  assert.equal(b1.heartbeats.filter((h) => h.phase === undefined).at(-1)?.step, 7, 'died during step 8\'s save');
  assert.ok(!fs.existsSync(path.join(run.outDir, 'model.safetensors')));

  const b2 = await runStageInChild(module, 'runPretrainStage', { ...run, attempt: 2, previousProgress: b1.heartbeats.at(-1) });
  assert.equal(b2.code, 0, JSON.stringify(b2.error));
  assert.ok(b2.logs.some((l) => /resuming pretrain from checkpoint step-00000004/.test(l)), b2.logs.join('\n'));
  assert.equal(b2.heartbeats[0].step, 5, 'the rerun starts at step 5: not step 0, not the unpointed step 8');
  assert.equal(b2.result?.lineage?.resumedFromStep, 4);
  assert.equal(sha(path.join(run.outDir, 'model.safetensors')), sha(path.join(whole.outDir, 'model.safetensors')));
  assert.deepEqual(fs.readdirSync(ckDir).filter((n) => n.startsWith('.')), [], 'no temp leftovers in the checkpoint dir');
});

async function evalWorld(root: string): Promise<ResolvedInput[]> {
  await initBackend({ env: { TFJS_BACKEND: 'wasm' } });
  const datasetDir = path.join(root, 'ds');
  fs.mkdirSync(datasetDir);
  writeSyntheticDataset(datasetDir, { seed: 2, train: 16, val: 4, test: 12 });
  const ds = openDataset(datasetDir);
  const tok = Tokenizer.train(tokenizerCorpus(ds.samples('train'), ds.meta.labels), 300);
  const models = [1, 2].map((s): ResolvedInput => {
    const dir = path.join(root, `m${s}`);
    fs.mkdirSync(dir);
    const m = VlmModel.create(modelConfig('tiny', tok.vocabSize, ds.meta.imageSize), rngFor(s, 'init'));
    writeModelFiles(dir, m, tok);
    m.dispose();
    return { input: 'models', from: `model${s}`, artifactId: `id-model${s}`, kind: 'model', dir, manifest: {} };
  });
  return [...models, { input: 'dataset', from: 'data', artifactId: 'id-data', kind: 'dataset', dir: datasetDir, manifest: {} }];
}

test('SIGKILL mid-eval (first model scored): no partial report, the rerun equals an uninterrupted run', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-eval-'));
  roots.push(root);
  const inputs = await evalWorld(root);
  const module = path.join(REPO, 'activities/eval.ts');
  const ctx = (name: string): HarnessContext => {
    for (const d of ['out', 'work']) fs.mkdirSync(path.join(root, name, d), { recursive: true });
    return {
      stage: { id: 'eval', kind: 'eval', key: 'eval-key', params: { split: 'test', maxNewTokens: 12, batchSize: 6 }, seed: 1 },
      inputs, outDir: path.join(root, name, 'out'), workDir: path.join(root, name, 'work'), env: { TFJS_BACKEND: 'wasm' },
    };
  };
  const whole = ctx('whole');
  const a = await runStageInChild(module, 'runEvalStage', whole);
  assert.equal(a.code, 0, JSON.stringify(a.error));

  const mark = path.join(root, 'crash-mark');
  const run = ctx('crashed');
  const b1 = await runStageInChild(module, 'runEvalStage', crashEnv(run, 'eval.mid-model@1', mark));
  assert.equal(b1.signal, 'SIGKILL', JSON.stringify(b1.error));
  assert.match(fs.readFileSync(mark, 'utf8'), /^eval\.mid-model/);
  assert.ok(b1.heartbeats.some((h) => h.phase === 'evaluated model1'), 'the first model was scored before the kill');
  assert.ok(!b1.heartbeats.some((h) => /model2/.test(h.phase ?? '')), 'the second model was not started');
  assert.deepEqual(fs.readdirSync(run.outDir), [], 'no partial report');

  const b2 = await runStageInChild(module, 'runEvalStage', { ...run, attempt: 2 });
  assert.equal(b2.code, 0, JSON.stringify(b2.error));
  for (const f of ['report.json', 'report.md']) assert.equal(sha(path.join(run.outDir, f)), sha(path.join(whole.outDir, f)), f);
});
