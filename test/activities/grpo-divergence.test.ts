// A grpo stage whose values become non-finite fails with a non-retryable DivergenceError naming the
// step, and writes nothing to its output dir (the bad weights are never published). Also: a stage
// resumed after its final checkpoint publishes without training again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGrpoStage } from '../../activities/grpo';
import type { StageContext } from '../../activities/types';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { initBackend } from '../../lib/ml/backend';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import type { GrpoParams } from '../../lib/ml/grpo/trainer';
import { VlmModel, modelConfig } from '../../lib/ml/model';
import { writeModelFiles } from '../../lib/ml/model-io';
import { tokenizerCorpus } from '../../lib/ml/prompt';
import { Tokenizer } from '../../lib/ml/tokenizer';
import { rngFor } from '../../lib/rng';
import * as tf from '@tensorflow/tfjs';

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `clgrpo-grpod-${tag}-`));

const PARAMS: GrpoParams = {
  rewards: ['format', 'accuracy'], steps: 2, groupSize: 2, promptsPerStep: 2, microBatch: 4, iterations: 2,
  clip: { low: 0.2, high: 0.1 }, beta: 0.04, lr: 1e-3, temperature: 1, topP: 1, maxNewTokens: 4,
  checkpointEvery: 1, keepCheckpoints: 2,
};

async function world(poison: boolean) {
  await initBackend();
  const datasetDir = tmp('ds');
  writeSyntheticDataset(datasetDir, { seed: 4, train: 8, val: 2, test: 2 });
  const ds = openDataset(datasetDir);
  const tok = Tokenizer.train(tokenizerCorpus(ds.samples('train'), ds.meta.labels), 280);
  const m = VlmModel.create(modelConfig('tiny', tok.vocabSize, ds.meta.imageSize), rngFor(4, 'init'));
  if (poison) m.p('text.norm').assign(tf.fill(m.p('text.norm').shape, NaN));
  const modelDir = tmp('model');
  writeModelFiles(modelDir, m, tok);
  m.dispose();
  return { datasetDir, modelDir };
}

function ctxFor(w: { datasetDir: string; modelDir: string }, workDir = tmp('work')): StageContext {
  return {
    run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed: 1 },
    stage: { id: 'grpo_full', kind: 'grpo', key: 'k', params: PARAMS as never, seed: 1 },
    inputs: [
      { input: 'model', from: 'sft', artifactId: 'm', kind: 'model', dir: w.modelDir, manifest: {} },
      { input: 'dataset', from: 'data', artifactId: 'd', kind: 'dataset', dir: w.datasetDir, manifest: {} },
    ],
    outDir: tmp('out'), workDir, attempt: 1, workerIdentity: 'test', heartbeat: () => {},
    signal: new AbortController().signal, log: { info: () => {}, warn: () => {}, error: () => {} }, env: {},
  };
}

test('non-finite values fail the stage with a DivergenceError naming the step; nothing is published', async () => {
  const ctx = ctxFor(await world(true));
  await assert.rejects(runGrpoStage(ctx), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Divergence
    && e.nonRetryable && /diverged at step 1/.test(e.message));
  assert.deepEqual(fs.readdirSync(ctx.outDir), []);
  assert.ok(!fs.existsSync(path.join(ctx.workDir, 'checkpoints', 'LATEST')), 'no checkpoint of diverged weights');
});

test('a stage resumed after its final checkpoint publishes the same weights without training again', async () => {
  const w = await world(false);
  const first = ctxFor(w);
  const out1 = await runGrpoStage(first);
  const second = ctxFor(w, first.workDir);
  const out2 = await runGrpoStage(second);
  assert.ok(fs.readFileSync(path.join(first.outDir, 'model.safetensors')).equals(fs.readFileSync(path.join(second.outDir, 'model.safetensors'))));
  assert.equal((out2.lineage as { resumedFromStep: number }).resumedFromStep, 2);
  assert.deepEqual(out2.metrics, out1.metrics);
});

test('cancellation stops the stage before the next step with a CancelledError, keeping the checkpoint', async () => {
  const w = await world(false);
  const ctx = ctxFor(w);
  const abort = new AbortController();
  let steps = 0;
  ctx.signal = abort.signal;
  ctx.heartbeat = (d) => { if (d.metrics && ++steps === 1) abort.abort(); };
  await assert.rejects(runGrpoStage(ctx), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Cancelled && /before step 2/.test(e.message));
  assert.ok(fs.existsSync(path.join(ctx.workDir, 'checkpoints', 'step-00000001')));
  assert.deepEqual(fs.readdirSync(ctx.outDir), []);
});
