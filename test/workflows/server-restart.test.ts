// FAULTS 12: the dev server is killed (SIGKILL) while a stage runs; started again on the same
// SQLite database and port, the worker reconnects and the run finishes with every stage done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../../lib/store';
import { connectClient, connectWorker, installRuntime } from '../../lib/temporal/connection';
import { startServer, stopServer } from '../../lib/temporal/dev-server';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createActivities } from '../../activities';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';
import type { PipelineResult } from '../../workflows/pipeline';
import { makePlan, quietLog, tinyStage, uniqueQueue } from '../helpers/temporal';

test('killing the dev server mid-run and restarting it on the same db lets the run finish', async () => {
  installRuntime('ERROR');
  const home = mkdtempSync(join(tmpdir(), 'clgrpo-restart-'));
  const first = await startServer({ home, headless: true, port: 0 });
  const endpoint = { address: first.address, namespace: 'default', external: false };
  const q = uniqueQueue('restart');
  let started = 0;
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-store-')));
  const activities = createActivities({ store, log: quietLog, env: {}, stages: { dataset: tinyStage({ sleepMs: 3000, onStart: () => { started++; } }) } });
  const wconn = await connectWorker(endpoint);
  const h = runWorkers(await createWorkers({ connection: wconn, namespace: 'default', activities, queues: [q], workflowQueue: q, concurrency: 4 }));
  let { client, connection } = await connectClient(endpoint);
  try {
    const plan = makePlan('restart', q, [{ id: 'a' }, { id: 'b', needs: ['a'], timeouts: { heartbeatMs: 5000 } }, { id: 'c', needs: ['b'] }]);
    const handle = await startPipeline(client, plan, { workflowId: `restart-${q}`, taskQueue: q });
    const deadline = Date.now() + 30_000;
    while (started < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(started, 2, 'stage b started before the kill');
    await stopServer(home, 0, 'SIGKILL');
    await connection.close();
    await new Promise((r) => setTimeout(r, 1000));
    await startServer({ home, headless: true, port: first.port });
    ({ client, connection } = await connectClient(endpoint));
    const res = (await client.workflow.getHandle(handle.workflowId).result()) as PipelineResult;
    assert.equal(res.status.state, 'succeeded');
    assert.deepEqual(res.status.stages.map((s) => s.state), ['succeeded', 'succeeded', 'succeeded']);
    for (const s of res.status.stages) assert.ok(store.verify(s.artifactId as string).ok);
  } finally {
    h.shutdown();
    await h.done;
    await connection.close();
    await wconn.close();
    await stopServer(home);
  }
});
