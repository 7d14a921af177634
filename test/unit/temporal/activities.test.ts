// The stage activity wrapper in MockActivityEnvironment: publish with a full manifest, the
// key-already-published path, typed failures (ClgrpoError type kept, ENOSPC → StorageFull, secrets
// redacted), heartbeat throttling and the previous attempt's progress, cancellation keeps work files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../../activities';
import { throttle } from '../../../activities/context';
import type { ProgressDetails, StageActivityInput, StageImplementation } from '../../../activities/types';
import { codeHashes } from '../../../lib/code/identity';
import { ClgrpoError, ErrorType } from '../../../lib/errors';
import { ArtifactStore } from '../../../lib/store';

const log = { info() {}, warn() {}, error() {} };
const KEY = 'd'.repeat(64);

function input(key = KEY): StageActivityInput {
  return {
    run: { runId: 'run-1', workflowId: 'wf-1', pipeline: 'p', specHash: 'e'.repeat(64), seed: 7 },
    stage: { id: 'data', kind: 'dataset', key, params: { train: 3 }, seed: 7 },
    inputs: [],
  };
}

/** MockActivityEnvironment.run infers `unknown`; keep the activity's own result type. */
function runIn<A extends unknown[], R>(env: MockActivityEnvironment, fn: (...a: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run(fn, ...args) as Promise<R>;
}

function setup(impl: StageImplementation, env: Record<string, string> = {}) {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-act-')));
  return { store, acts: createActivities({ store, log, env, stages: { dataset: impl } }) };
}

test('publishes the staged output with run, stage, attempt, params, code version and lineage', async () => {
  const { store, acts } = setup(async (ctx) => {
    writeFileSync(join(ctx.outDir, 'meta.json'), '{"n":3}');
    return { kind: 'dataset', metrics: { samples: 3 }, lineage: { backend: 'cpu' }, summary: { samples: 3 } };
  });
  const env = new MockActivityEnvironment({ attempt: 2 });
  const r = await runIn(env, acts.runDatasetStage, input());
  assert.deepEqual({ ...r, artifactId: undefined }, { artifactId: undefined, kind: 'dataset', reused: false, summary: { samples: 3 }, attempt: 2 });
  const m = store.readManifest(r.artifactId);
  assert.equal(m.producer.attempt, 2);
  assert.equal(m.producer.stageKey, KEY);
  assert.equal(m.producer.runId, 'run-1');
  assert.deepEqual(m.params, { train: 3 });
  // The stage's own facts, plus the code identity the wrapper adds (this worker's, for the kind).
  const { codeIdentity, ...own } = m.lineage as { codeIdentity: { hash: string; entry: string; files: number } };
  assert.deepEqual(own, { backend: 'cpu' });
  assert.equal(codeIdentity.hash, codeHashes(['dataset']).dataset);
  assert.equal(codeIdentity.entry, 'activities/dataset.ts');
  assert.ok(codeIdentity.files > 5, `files reached: ${codeIdentity.files}`);
  assert.equal(m.codeVersion.package, 'clgrpo-flow');
  assert.match(m.codeVersion.commit, /^([0-9a-f]{40}|unknown)$/);
  assert.deepEqual(m.files.map((f) => f.path), ['meta.json']);
  assert.equal(store.lookupKey(KEY), r.artifactId);
  const lookup = await runIn(new MockActivityEnvironment(), acts.lookupStageArtifact, { stageKey: KEY, stageId: 'data' });
  assert.equal(lookup?.artifactId, r.artifactId);
  assert.equal(lookup?.reused, true);
});

test('a key already published returns that artifact without running the stage', async () => {
  let calls = 0;
  const { acts } = setup(async (ctx) => {
    calls++;
    writeFileSync(join(ctx.outDir, 'f'), 'x');
    return { kind: 'dataset', metrics: {} };
  });
  const first = await runIn(new MockActivityEnvironment(), acts.runDatasetStage, input());
  const again = await runIn(new MockActivityEnvironment({ attempt: 3 }), acts.runDatasetStage, input());
  assert.equal(calls, 1);
  assert.equal(again.artifactId, first.artifactId);
  assert.equal(again.reused, true);
});

test('errors become ApplicationFailures with the catalogue type, retryability, and no secrets', async () => {
  const secret = 'sk-live-0123456789abcdef';
  const cases: [StageImplementation, string, boolean][] = [
    [async () => { throw new ClgrpoError(ErrorType.Divergence, `loss is NaN at step 4 (key ${secret})`); }, ErrorType.Divergence, true],
    [async () => { throw Object.assign(new Error('write failed'), { code: 'ENOSPC' }); }, ErrorType.StorageFull, false],
    [async () => { throw new Error(`socket hang up calling with ${secret}`); }, 'Error', false],
  ];
  for (const [impl, type, nonRetryable] of cases) {
    const { store, acts } = setup(impl, { TEACHER_KEY: secret });
    const err = await runIn(new MockActivityEnvironment(), acts.runDatasetStage, input()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, type);
    assert.equal(Boolean(err.nonRetryable), nonRetryable);
    assert.ok(!JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause?.message), d: err.details }).includes(secret));
    assert.deepEqual(readdirSync(join(store.root, 'staging')), [], 'staging cleaned after failure');
    assert.equal(store.lookupKey(KEY), undefined);
  }
});

test('heartbeats are throttled, keep the newest details, and the previous attempt progress is passed on', async () => {
  const sent: ProgressDetails[] = [];
  const { acts } = setup(async (ctx) => {
    assert.deepEqual(ctx.previousProgress, { step: 5, total: 10 });
    for (let i = 0; i < 5; i++) ctx.heartbeat({ step: i, total: 10, phase: `p ${ctx.env.API_TOKEN}` });
    writeFileSync(join(ctx.outDir, 'f'), 'x');
    return { kind: 'dataset', metrics: {} };
  }, { API_TOKEN: 'tok-abcdefgh12345' });
  const env = new MockActivityEnvironment({ heartbeatDetails: { step: 5, total: 10 } });
  env.on('heartbeat', (d: ProgressDetails) => sent.push(d));
  await runIn(env, acts.runDatasetStage, input());
  assert.deepEqual(sent.map((d) => d.step), [0, 4], 'first immediately, the newest flushed at the end');
  assert.ok(sent.every((d) => !String(d.phase).includes('tok-abcdefgh12345')));
});

test('throttle: one emit per interval, newest wins', () => {
  let now = 0;
  const out: number[] = [];
  const t = throttle((d) => out.push(d.step), 2000, () => now);
  t.send({ step: 1, total: 9 });
  t.send({ step: 2, total: 9 });
  now = 2500;
  t.send({ step: 3, total: 9 });
  t.send({ step: 4, total: 9 });
  t.flush();
  assert.deepEqual(out, [1, 3, 4]);
});

test('cancellation stops the stage, keeps its work dir and publishes nothing', async () => {
  const { store, acts } = setup(async (ctx) => {
    writeFileSync(join(ctx.workDir, 'ckpt'), 'step 3');
    await new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted'))));
    return { kind: 'dataset', metrics: {} };
  });
  const env = new MockActivityEnvironment();
  const p = runIn(env, acts.runDatasetStage, input());
  setTimeout(() => env.cancel(), 50);
  // The wrapper rethrows the cancellation itself, not the stage's own 'aborted' error as an ApplicationFailure.
  await assert.rejects(p, (e: unknown) => e instanceof CancelledFailure && !(e instanceof ApplicationFailure) && e.message === 'CANCELLED');
  assert.equal(store.lookupKey(KEY), undefined);
  assert.ok(existsSync(join(store.root, 'work', KEY, 'ckpt')));
  assert.deepEqual(readdirSync(join(store.root, 'staging')), []);
});

test('a worker whose code for the kind is not the plan\'s refuses to run the stage (non-retryable, nothing published)', async () => {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-act-code-')));
  // The registry's own dataset stage (not injected), inline: only real implementations answer for the code.
  const acts = createActivities({ store, log, env: {}, isolation: 'inline' });
  const params = { source: 'synthetic', train: 4, val: 1, test: 1, imageSize: 8 };
  const other = { ...input(), stage: { ...input().stage, params, code: 'f'.repeat(64) } };
  await assert.rejects(runIn(new MockActivityEnvironment(), acts.runDatasetStage, other), (e: unknown) =>
    e instanceof ApplicationFailure && e.type === ErrorType.Config && e.nonRetryable === true
    && /this worker's code for stage kind 'dataset' is not the code the plan was compiled with/.test(e.message));
  assert.equal(store.lookupKey(KEY), undefined);
  const same = { ...input(), stage: { ...input().stage, params, code: codeHashes(['dataset']).dataset } };
  const r = await runIn(new MockActivityEnvironment(), acts.runDatasetStage, same);
  assert.equal(r.reused, false);
  assert.equal(store.lookupKey(KEY), r.artifactId);
});
