// Stages in worker threads (activities/thread-runner.ts) behind the real activity wrapper in
// MockActivityEnvironment: the same artifact bytes as inline (dataset files; a tiny pretrain's
// weights, wasm being bit-identical across threads), a main event loop that stays responsive while
// the thread trains, ClgrpoErrors that keep their type and retryability across the boundary, a cancel
// that reaches the thread (the stage checkpoints and ends cancelled), and threads that exit or
// ignore the abort becoming retryable / cancelled errors instead of hanging the activity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createActivities, type StageRunResult } from '../../activities';
import { toApplicationFailure } from '../../activities/failures';
import { deserializeError, serializeError } from '../../activities/thread-protocol';
import { runStageInThread, stageIsolation } from '../../activities/thread-runner';
import { defaultStageConcurrency } from '../../lib/stage/isolation';
import type { StageActivityInput, StageContext } from '../../activities/types';
import type { JsonObject } from '../../lib/canonical';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { ArtifactStore } from '../../lib/store';
import { TINY_PRETRAIN } from './pretrain-fixtures';

const quiet = { info() {}, warn() {}, error() {} };
const ENV = { TFJS_BACKEND: 'wasm' };

function stageInput(kind: 'dataset' | 'pretrain', key: string, params: JsonObject, inputs: StageActivityInput['inputs'] = []): StageActivityInput {
  return {
    run: { runId: 'r', workflowId: 'wf', pipeline: 'p', specHash: 'h', seed: 5 },
    stage: { id: kind, kind, key: createHash('sha256').update(key).digest('hex'), seed: 5, params }, inputs,
  };
}

function setup(isolation: 'thread' | 'inline', abortGraceMs?: number) {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), `clgrpo-thr-${isolation}-`)));
  return { store, acts: createActivities({ store, log: quiet, env: ENV, isolation, abortGraceMs }) };
}

const run = (env: MockActivityEnvironment, fn: (i: StageActivityInput) => Promise<StageRunResult>, i: StageActivityInput) => env.run(fn, i) as Promise<StageRunResult>;
const fileHashes = (store: ArtifactStore, id: string) => store.readManifest(id).files.map((f) => `${f.path}:${f.sha256}`);
const DATA = { source: 'synthetic', train: 48, val: 8, test: 8, imageSize: 32, noise: 0.15 };

/** Max and 3rd-largest setTimeout lag (ms) on this thread while `work` runs. */
async function lagDuring(work: () => Promise<unknown>): Promise<{ max: number; third: number }> {
  const lags: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(now - last - 5);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  lags.sort((a, b) => b - a);
  return { max: lags[0] ?? 0, third: lags[2] ?? 0 };
}

test('a dataset stage and a tiny pretrain publish the same bytes in a thread as inline; the main loop stays free', async () => {
  const out: Record<string, { data: string[]; weights: string[]; lag: { max: number; third: number } }> = {};
  for (const mode of ['inline', 'thread'] as const) {
    const { store, acts } = setup(mode);
    const data = await run(new MockActivityEnvironment(), acts.runDatasetStage, stageInput('dataset', `d${mode}`, DATA));
    const pre = stageInput('pretrain', `p${mode}`, { ...TINY_PRETRAIN, steps: 8 }, [{ input: 'dataset', from: 'data', artifactId: data.artifactId }]);
    let res: StageRunResult | undefined;
    const lag = await lagDuring(async () => { res = await run(new MockActivityEnvironment(), acts.runPretrainStage, pre); });
    const m = store.readManifest(res!.artifactId);
    assert.equal(m.producer.stageKind, 'pretrain');
    out[mode] = { data: fileHashes(store, data.artifactId), weights: fileHashes(store, res!.artifactId).filter((f) => f.startsWith('model.safetensors')), lag };
  }
  assert.deepEqual(out.thread.data, out.inline.data, 'dataset files identical');
  assert.equal(out.thread.weights.length, 1);
  assert.deepEqual(out.thread.weights, out.inline.weights, 'pretrain weights identical');
  // Relative, not absolute: inline, a training step blocks this loop; in a thread it does not.
  const msg = `setTimeout lag ms: inline ${JSON.stringify(out.inline.lag)}, thread ${JSON.stringify(out.thread.lag)}`;
  assert.ok(out.thread.lag.third * 2 < out.inline.lag.third, msg);
  console.log(msg);
});

test('a ClgrpoError thrown in the thread keeps its type and non-retryable flag', async () => {
  const { store, acts } = setup('thread');
  const err = await run(new MockActivityEnvironment(), acts.runDatasetStage, stageInput('dataset', 'bad', { ...DATA, source: 'nope' })).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, ErrorType.Config);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /unknown source "nope"/);
  assert.deepEqual(readdirSync(join(store.root, 'staging')), []);
});

test('errors cross the thread boundary with type, details, stack, cause and errno code', () => {
  const inner = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
  const e = new ClgrpoError(ErrorType.Divergence, 'loss is NaN at step 4', { details: { step: 4 }, cause: inner });
  const back = deserializeError(structuredClone(serializeError(e)));
  assert.ok(back instanceof ClgrpoError);
  assert.equal(back.type, ErrorType.Divergence);
  assert.equal(back.nonRetryable, true);
  assert.deepEqual(back.details, { step: 4 });
  assert.equal(back.stack, e.stack);
  assert.equal((back.cause as NodeJS.ErrnoException).code, 'ENOSPC');
  const full = toApplicationFailure(deserializeError(serializeError(inner)), {}, 'stage x');
  assert.equal(full.type, ErrorType.StorageFull, 'ENOSPC still becomes StorageFull');
});

test('a cancel reaches the thread: the pretrain checkpoints, ends cancelled and publishes nothing', async () => {
  const { store, acts } = setup('thread', 60_000);
  const data = await run(new MockActivityEnvironment(), acts.runDatasetStage, stageInput('dataset', 'dc', DATA));
  const pre = stageInput('pretrain', 'pc', { ...TINY_PRETRAIN, steps: 400, checkpointEvery: 1000 }, [{ input: 'dataset', from: 'data', artifactId: data.artifactId }]);
  const env = new MockActivityEnvironment();
  let cancelledAt = 0;
  env.on('heartbeat', (d: { step: number }) => { if (d.step >= 2 && !cancelledAt) { cancelledAt = Date.now(); env.cancel(); } });
  // Temporal's cancellation, rethrown as is: not turned into a (retryable) ApplicationFailure.
  await assert.rejects(run(env, acts.runPretrainStage, pre),
    (e: unknown) => e instanceof CancelledFailure && !(e instanceof ApplicationFailure) && e.message === 'CANCELLED');
  assert.ok(cancelledAt > 0);
  assert.ok(Date.now() - cancelledAt < 30_000, 'the stage stopped itself, long before the 60 s grace');
  const ckpts = readdirSync(join(store.workDir(pre.stage.key), 'checkpoints'));
  assert.ok(ckpts.some((c) => c.startsWith('step-')), `checkpoint kept: ${ckpts.join(', ')}`);
  assert.equal(store.lookupKey(pre.stage.key), undefined);
});

/** A minimal StageContext around a hand-written thread entry (plain JS, no tsx needed). */
function entryCtx(code: string, signal = new AbortController().signal): { ctx: StageContext; entry: string } {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-entry-'));
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, code);
  const ctx: StageContext = {
    ...stageInput('dataset', 'e', {}), inputs: [], outDir: dir, workDir: dir, attempt: 1, workerIdentity: 't',
    heartbeat() {}, signal, log: quiet, env: {},
  };
  return { ctx, entry };
}

test('a thread that calls process.exit becomes a retryable failure with its exit code', async () => {
  const { ctx, entry } = entryCtx('process.exit(7);');
  const err = await runStageInThread('dataset', ctx, { entry }).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(err);
  assert.match(err.message, /exited with code 7/);
  const f = toApplicationFailure(err, {}, 'stage x');
  assert.equal(f.nonRetryable, false);
  const crash = await runStageInThread('dataset', ctx, { entry: entryCtx('setTimeout(() => { throw new Error("boom"); }, 1);').entry }).then(() => undefined, (e: unknown) => e as Error);
  assert.match(String(crash?.message), /crashed: boom/);
});

test('a thread that ignores the abort is terminated after the grace period', async () => {
  const ac = new AbortController();
  const { ctx, entry } = entryCtx('setInterval(() => {}, 1000);', ac.signal);
  const p = runStageInThread('dataset', ctx, { entry, abortGraceMs: 200 });
  setTimeout(() => ac.abort(), 100);
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ClgrpoError && err.type === ErrorType.Cancelled, String(err));
  assert.match(err.message, /did not stop within 200 ms/);
});

test('isolation and the default concurrency follow CLGRPO_STAGE_ISOLATION', () => {
  assert.equal(stageIsolation({}), 'thread');
  assert.equal(stageIsolation({}, 'inline'), 'inline');
  assert.equal(stageIsolation({ CLGRPO_STAGE_ISOLATION: 'inline' }, 'thread'), 'inline');
  assert.equal(defaultStageConcurrency({}, 2, 2), 2);
  assert.equal(defaultStageConcurrency({}, 1, 8), 1);
  assert.equal(defaultStageConcurrency({}, undefined, 4), 4);
  assert.equal(defaultStageConcurrency({ CLGRPO_STAGE_ISOLATION: 'inline' }, 2, 2), 1);
  assert.ok(existsSync(join(__dirname, '../../activities/stage-thread.js')));
});
