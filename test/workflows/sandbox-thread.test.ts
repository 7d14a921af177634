// Where workflow code runs (lib/temporal/workers.ts sandboxOptions): the CLI's local worker keeps the
// sandbox in its main thread (issue 14: a second thread loading the SDK again cost ~0.35 s of every
// `clgrpo run`), a long-lived `clgrpo worker` in the SDK's worker thread. Both must run pipelines,
// and both must keep the SDK's 5 s deadlock timeout (the SDK's debugMode, used for 'main', would
// otherwise drop it). Checked against @temporalio/worker 1.24's internals: the creator class and the
// compiled timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../activities';
import { ArtifactStore } from '../../lib/store';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createWorkers, runWorkers, type WorkflowThread } from '../../lib/temporal/workers';
import type { PipelineResult } from '../../workflows/pipeline';
import { makePlan, quietLog, startTestServer, tinyStage, uniqueQueue, type TestServer } from '../helpers/temporal';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.stop(); });

const CREATOR: Record<WorkflowThread, string> = { main: 'ReusableVMWorkflowCreator', thread: 'ThreadedVMWorkflowCreator' };

for (const where of ['main', 'thread'] as const) {
  test(`workflows in the ${where} sandbox run a pipeline, with the 5 s deadlock timeout`, async () => {
    const q = uniqueQueue(`sandbox-${where}`);
    const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-store-')));
    const activities = createActivities({ store, log: quietLog, env: {}, stages: { dataset: tinyStage() } });
    const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: [q], workflowQueue: q, workflowThread: where, shutdownGraceMs: 1000 });
    const internals = workers[0] as unknown as { workflowCreator?: object; options: { isolateExecutionTimeoutMs: number } };
    assert.equal(internals.workflowCreator?.constructor.name, CREATOR[where]);
    assert.equal(internals.options.isolateExecutionTimeoutMs, 5000);
    const h = runWorkers(workers);
    try {
      const plan = makePlan(`sandbox-${where}`, q, [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a', 'b'] }], { salt: q });
      const wf = await startPipeline(s.client, plan, { workflowId: `sandbox-${q}`, taskQueue: q, searchAttributes: false });
      const r = (await wf.result()) as PipelineResult;
      assert.equal(r.status.state, 'succeeded', JSON.stringify(r.status));
      assert.deepEqual(r.status.stages.map((x) => [x.id, x.state]), [['a', 'succeeded'], ['b', 'succeeded'], ['c', 'succeeded']]);
    } finally {
      h.shutdown();
      await h.done;
    }
  });
}
