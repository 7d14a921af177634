// Re-records the interpreter histories replayed by replay.test.ts:
//   node --import tsx test/replay/record.ts
// Runs each scenario on a fresh dev server with injected stages and writes
// test/replay/histories/<scenario>.json. Re-record only on purpose: the committed histories are what
// proves that running pipelines still replay after a workflow change (use patched() for changes).
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { saveHistory } from './history';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { makePlan, startTestServer, startTestWorker, tinyStage } from '../helpers/temporal';

const QUEUE = 'replay-recording';

async function main(): Promise<void> {
  const s = await startTestServer();
  const ok = tinyStage({ sleepMs: 200 });
  const w = await startTestWorker(s, QUEUE, {
    dataset: async (ctx) => {
      if (ctx.stage.id === 'bad') throw new ClgrpoError(ErrorType.Config, 'bad stage: recorded failure');
      if (ctx.stage.id === 'long') {
        for (let i = 0; !ctx.signal.aborted; i++) {
          ctx.heartbeat({ step: i, total: 100 });
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('cancelled');
      }
      return ok(ctx);
    },
  });
  try {
    const dag = makePlan('replay-dag', QUEUE, [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a'] }, { id: 'd', needs: ['b', 'c'] }], { maxParallel: 2 });
    await (await startPipeline(s.client, dag, { workflowId: 'replay-dag', taskQueue: QUEUE })).result();
    saveHistory(s.info.address, 'replay-dag', 'dag');
    await (await startPipeline(s.client, dag, { workflowId: 'replay-reuse', taskQueue: QUEUE })).result();
    saveHistory(s.info.address, 'replay-reuse', 'reuse');
    const fail = makePlan('replay-fail', QUEUE, [{ id: 'a' }, { id: 'bad', needs: ['a'] }, { id: 'after', needs: ['bad'] }, { id: 'side', needs: ['a'] }]);
    await (await startPipeline(s.client, fail, { workflowId: 'replay-fail', taskQueue: QUEUE })).result().catch(() => undefined);
    saveHistory(s.info.address, 'replay-fail', 'fail');
    const cancel = makePlan('replay-cancel', QUEUE, [{ id: 'a' }, { id: 'long', needs: ['a'] }, { id: 'z', needs: ['long'] }]);
    const h = await startPipeline(s.client, cancel, { workflowId: 'replay-cancel', taskQueue: QUEUE });
    for (let i = 0; i < 200; i++) {
      const d = await h.describe();
      if ((d.raw.pendingActivities ?? []).some((p) => p.activityId === 'long' && p.heartbeatDetails)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.cancel();
    await h.result().catch(() => undefined);
    saveHistory(s.info.address, 'replay-cancel', 'cancel');
  } finally {
    await w.stop();
    await s.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
