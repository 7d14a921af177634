// FAULTS 13 and 17 at the publish step, with real processes: the stage worker (a child process)
// SIGKILLs itself inside ArtifactStore.publish — after the artifact directory is renamed into place
// but before the stage-key index is written, or after the index is written but before the activity
// completes (a lost completion). A second worker takes the retry. Afterwards the store holds exactly
// one artifact for the stage key, indexed, verified, and no orphan directory or temp file.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactStore } from '../../lib/store';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import type { PipelineResult } from '../../workflows/pipeline';
import { startTestServer, uniqueQueue, type TestServer } from '../helpers/temporal';
import { compileSpec, spawnWorker, startWorkflowWorker, tempDir } from './helpers/cluster';
import { storeProblems } from './helpers/crash-loop';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server?.stop(); });

const dataOnly = (queue: string) => `schemaVersion: 1
name: publish-crash
seed: 3
defaults:
  queue: ${queue}
  retry: { maximumAttempts: 5, initialInterval: "1s", backoffCoefficient: 1 }
  timeouts: { heartbeat: "4s", startToClose: "5m" }
stages:
  data:
    kind: dataset
    params: { source: synthetic, train: 24, val: 4, test: 4, imageSize: 16 }
`;

async function crashAt(point: string): Promise<{ root: string; result: PipelineResult; mark: string }> {
  const root = tempDir('publish');
  const queue = uniqueQueue('publish');
  const wf = await startWorkflowWorker(server, `${queue}-wf`, join(root, 'store'));
  const mark = join(root, 'crash-mark');
  const cfg = { address: server.info.address, storeRoot: join(root, 'store'), queues: [queue] };
  const doomed = spawnWorker({ ...cfg, identity: 'doomed' }, { CLGRPO_CRASH_AT: point, CLGRPO_CRASH_MARK: mark });
  try {
    await doomed.ready;
    const h = await startPipeline(server.client, compileSpec(dataOnly(queue)), { workflowId: `publish-${point}`, taskQueue: `${queue}-wf` });
    const died = await doomed.exited;
    assert.equal(died.signal, 'SIGKILL', doomed.output());
    const rescuer = spawnWorker({ ...cfg, identity: 'rescuer' });
    try {
      const result = (await h.result()) as PipelineResult;
      return { root: join(root, 'store'), result, mark: readFileSync(mark, 'utf8') };
    } finally {
      await rescuer.kill('SIGTERM');
    }
  } finally {
    await doomed.kill();
    await wf.stop();
  }
}

test('killed after the index write (a lost completion): the retry returns the same artifact, one record', async () => {
  const { root, result, mark } = await crashAt('store.after-index');
  assert.match(mark, /^store\.after-index/);
  const data = result.status.stages[0];
  // The retry finds the key published and returns that artifact (the wrapper reports it as reused).
  assert.ok(data.state === 'reused' || data.state === 'succeeded', data.state);
  assert.equal(data.attempt, 2);
  const store = new ArtifactStore(root);
  assert.deepEqual(store.listArtifacts(), [data.artifactId]);
  assert.equal(store.readManifest(data.artifactId as string).producer.attempt, 1, 'the artifact of attempt 1, returned again');
  assert.deepEqual(storeProblems(root, ['data']), []);
});

test('killed between the artifact rename and the index write: one artifact for the key, no orphan', async () => {
  const { root, result, mark } = await crashAt('store.before-index');
  assert.match(mark, /^store\.before-index/);
  const data = result.status.stages[0];
  assert.equal(data.state, 'succeeded');
  const store = new ArtifactStore(root);
  const key = store.readManifest(data.artifactId as string).producer.stageKey;
  assert.equal(readFileSync(join(root, 'index', 'stage-keys', key), 'utf8').trim(), data.artifactId);
  assert.ok(existsSync(store.artifactDir(data.artifactId as string)));
  assert.deepEqual(storeProblems(root, ['data']), [], 'the crashed attempt\'s unindexed artifact must not stay behind');
});
