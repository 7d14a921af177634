// Records the histories of the patched() steps (replayed by replay.test.ts with the others):
//   node --import tsx test/replay/record-patched.ts [drain-fail] [data] [local] [data-local]   (default: all)
// drain-fail: a failure while draining for continue-as-new, with an independent branch still pending
// (patched 'drain-keeps-branches'); data: a folder import fingerprinted before its reuse decision and a
// dependent under an effective key (patched 'data-fingerprint'); local: two stages reused and one run
// with the stage-key lookup and the run record as local activities (patched 'local-store-activities');
// data-local: the data scenario again on that path (a per-stage local lookup for effective keys).
// Re-recording a scenario with today's code takes every later patch too, so its history no longer
// covers the path before them: name only the scenario you mean. record.ts keeps the older scenarios.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createActivities } from '../../activities';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { compilePlan } from '../../lib/plan';
import { loadSpecText } from '../../lib/spec';
import { ArtifactStore } from '../../lib/store';
import { saveHistory } from './history';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';
import { makePlan, quietLog, startTestServer, tinyStage, type TestServer } from '../helpers/temporal';

const QUEUE = 'replay-recording';

async function main(): Promise<void> {
  const s = await startTestServer();
  const dataRoot = mkdtempSync(join(tmpdir(), 'clgrpo-replay-data-'));
  for (const [label, rgb] of [['happy', [250, 200, 10]], ['sad', [10, 20, 200]]] as const) {
    mkdirSync(join(dataRoot, 'imgs', label), { recursive: true });
    for (const n of ['a', 'b']) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: rgb[0], g: rgb[1], b: n === 'a' ? rgb[2] : 99 } } }).png().toFile(join(dataRoot, 'imgs', label, `${n}.png`));
    }
  }
  const ok = tinyStage({ sleepMs: 100 });
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-replay-store-')));
  const activities = createActivities({
    store, log: quietLog, env: { CLGRPO_DATA_ROOT: dataRoot }, isolation: 'inline',
    stages: {
      pretrain: ok,
      dataset: async (ctx) => {
        if (ctx.stage.id === 'bad') throw new ClgrpoError(ErrorType.Config, 'bad stage: recorded failure');
        return ok(ctx);
      },
    },
  });
  const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: [QUEUE], workflowQueue: QUEUE, concurrency: 4, shutdownGraceMs: 2000 });
  const h = runWorkers(workers);
  const only = process.argv.slice(2);
  const wanted = (name: string): boolean => !only.length || only.includes(name);
  try {
    if (wanted('drain-fail')) await recordDrainFail(s);
    if (wanted('data')) await recordData(s, 'data');
    if (wanted('local')) await recordLocal(s);
    if (wanted('data-local')) await recordData(s, 'data-local');
  } finally {
    h.shutdown();
    await h.done;
    await s.stop();
  }
}

async function recordDrainFail(s: TestServer): Promise<void> {
  const chain = ['c1', 'c2', 'c3', 'c4'].map((id, i, all) => ({ id, needs: i ? [all[i - 1]] : [] }));
  const drain = makePlan('replay-drain-fail', QUEUE, [{ id: 'bad' }, { id: 'after', needs: ['bad'] }, ...chain], { maxParallel: 2 });
  const dh = await startPipeline(s.client, drain, { workflowId: 'replay-drain-fail', taskQueue: QUEUE, historyLimit: 25 });
  await dh.result().catch(() => undefined);
  // The first execution is the one that drained after the failure and continued as new.
  saveHistory(s.info.address, 'replay-drain-fail', 'drain-fail', dh.firstExecutionRunId);
}

async function recordData(s: TestServer, name: string): Promise<void> {
  const loaded = loadSpecText(`schemaVersion: 1
name: replay-data
seed: 3
stages:
  imp: { kind: dataset, params: { source: folder, root: imgs, train: 2, val: 1, test: 1, imageSize: 8 } }
  base: { kind: pretrain, needs: [imp] }
`, 'replay-data.yaml');
  if (!('spec' in loaded)) throw new Error(JSON.stringify(loaded.errors));
  const compiled = compilePlan(loaded.spec);
  if (!('plan' in compiled)) throw new Error(JSON.stringify(compiled.errors));
  const plan = { ...compiled.plan, stages: compiled.plan.stages.map((x) => ({ ...x, queue: QUEUE })) };
  await (await startPipeline(s.client, plan, { workflowId: `replay-${name}`, taskQueue: QUEUE })).result();
  saveHistory(s.info.address, `replay-${name}`, name);
}

async function recordLocal(s: TestServer): Promise<void> {
  // A first run publishes a and b; the recorded one reuses both (lookups answered locally) and runs c.
  await (await startPipeline(s.client, makePlan('replay-local', QUEUE, [{ id: 'a' }, { id: 'b', needs: ['a'] }]), { workflowId: 'replay-local-first', taskQueue: QUEUE })).result();
  const plan = makePlan('replay-local', QUEUE, [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }]);
  await (await startPipeline(s.client, plan, { workflowId: 'replay-local', taskQueue: QUEUE })).result();
  saveHistory(s.info.address, 'replay-local', 'local');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
