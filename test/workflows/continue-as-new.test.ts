// Continue-as-new must not abandon branches (issue 11, item 5): when the interpreter drains for a
// continue-as-new while a stage has failed, the independent pending branch still runs (in the next
// execution), the failed stage is not retried, and the run ends failed with the branch finished.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { readRun } from '../../lib/store';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { makePlan, startTestServer, startTestWorker, tinyStage, uniqueQueue, type TestServer } from '../helpers/temporal';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.stop(); });

test('a failed stage does not stop an independent branch when the run continues as new', async () => {
  const q = uniqueQueue('canfail');
  const ran: string[] = [];
  const ok = tinyStage({ onStart: (id) => ran.push(id) });
  const w = await startTestWorker(s, q, {
    dataset: async (ctx) => {
      if (ctx.stage.id === 'bad') {
        ran.push('bad');
        throw new ClgrpoError(ErrorType.Config, 'bad stage: fails at once, never retried');
      }
      return ok(ctx);
    },
  });
  try {
    const chain = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((id, i, all) => ({ id, needs: i ? [all[i - 1]] : [] }));
    const plan = makePlan('canfail', q, [{ id: 'bad' }, { id: 'after_bad', needs: ['bad'] }, ...chain], { maxParallel: 2 });
    const id = `canfail-${q}`;
    const h = await startPipeline(s.client, plan, { workflowId: id, taskQueue: q, historyLimit: 25, searchAttributes: false });
    await assert.rejects(h.result(), (e: unknown) => e instanceof WorkflowFailedError && /bad stage/.test(String(e.cause?.message)));
    const rec = readRun(w.store, id);
    assert.ok(rec, 'run record written');
    const states = Object.fromEntries(Object.entries(rec.stages).map(([k, v]) => [k, v.state]));
    assert.deepEqual(states, { bad: 'failed', after_bad: 'skipped', c1: 'succeeded', c2: 'succeeded', c3: 'succeeded', c4: 'succeeded', c5: 'succeeded', c6: 'succeeded' });
    assert.deepEqual(ran.filter((x) => x === 'bad'), ['bad'], 'the failed stage is carried, not retried by the continued execution');
    assert.deepEqual(ran.filter((x) => x !== 'bad'), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    const d = await h.describe();
    assert.notEqual(d.runId, h.firstExecutionRunId, 'the run continued as new after the failure');
  } finally {
    await w.stop();
  }
});
