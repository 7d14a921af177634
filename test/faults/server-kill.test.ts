// FAULTS 12: the Temporal dev server is SIGKILLed while a training stage runs, then restarted on the
// same SQLite database and port. The workers (one in this process for workflows, one child process
// for stages) reconnect by themselves; the run must finish with every stage published once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { ArtifactStore } from '../../lib/store';
import { installRuntime } from '../../lib/temporal/connection';
import { startServer, stopServer, alive } from '../../lib/temporal/dev-server';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';
import type { PipelineResult } from '../../workflows/pipeline';
import { quietLog, uniqueQueue } from '../helpers/temporal';
import { compileSpec, readStepLog, spawnWorker, tempDir, tinySpec } from './helpers/cluster';
import { storeProblems } from './helpers/crash-loop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the dev server killed mid-stage and restarted on the same db: the run finishes', { timeout: 400_000 }, async (t) => {
  const home = tempDir('server-kill');
  const storeRoot = join(home, 'store');
  const queue = uniqueQueue('server');
  let info = await startServer({ home, headless: true, port: 0 });
  const port = info.port;
  const connection = await Connection.connect({ address: info.address });
  const client = new Client({ connection, namespace: 'default' });
  installRuntime();
  const workerConnection = await NativeConnection.connect({ address: info.address });
  const activities = createActivities({ store: new ArtifactStore(storeRoot), log: quietLog, env: {} });
  const wfWorker = runWorkers(await createWorkers({ connection: workerConnection, namespace: 'default', activities, queues: [], workflowQueue: `${queue}-wf`, shutdownGraceMs: 1000 }));
  const stepLog = join(home, 'steps.jsonl');
  const stage = spawnWorker({ address: info.address, storeRoot, queues: [queue], stepLog });
  try {
    await stage.ready;
    const h = await startPipeline(client, compileSpec(tinySpec({ queue, pretrainSteps: 16, heartbeat: '10s' })), { workflowId: 'server-kill', taskQueue: `${queue}-wf` });
    const t0 = Date.now();
    while (!readStepLog(stepLog).some((r) => r.stage === 'base' && r.step >= 2)) {
      assert.ok(Date.now() - t0 < 180_000, 'base never reached step 2');
      await sleep(100);
    }
    const killedPid = info.pid;
    await stopServer(home, 0, 'SIGKILL');
    for (let i = 0; i < 100 && alive(killedPid); i++) await sleep(50);
    assert.ok(!alive(killedPid), 'the server is dead');
    const stepAtKill = readStepLog(stepLog).filter((r) => r.stage === 'base').at(-1)?.step;
    t.diagnostic(`killed the dev server (pid ${killedPid}) at base step ${stepAtKill}`);
    await sleep(3000); // the stage keeps training without a server; heartbeats fail meanwhile
    info = await startServer({ home, headless: true, port });
    assert.equal(info.port, port, 'restarted on the same port');
    t.diagnostic(`restarted the dev server (pid ${info.pid}) on ${info.address} with ${info.db}`);
    const result = (await h.result()) as PipelineResult;
    assert.equal(result.status.state, 'succeeded', JSON.stringify(result.status));
    assert.deepEqual(storeProblems(storeRoot, ['data', 'base', 'sft']), []);
    t.diagnostic(`attempts: ${JSON.stringify(result.status.stages.map((s) => [s.id, s.attempt]))}; run took ${Date.now() - t0} ms after base started`);
  } finally {
    await stage.kill('SIGTERM');
    wfWorker.shutdown();
    await Promise.race([wfWorker.done, sleep(10_000)]);
    await connection.close();
    await workerConnection.close();
    await stopServer(home);
  }
});
