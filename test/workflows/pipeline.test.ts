// The Plan interpreter on a real dev server with real workers (stage implementations injected):
// DAG order and parallelism, a failing branch, retries, cancellation, the status query,
// duplicate-start refusal, reuse by stage key across runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { readRun } from '../../lib/store';
import { liveStatus, startPipeline } from '../../lib/temporal/pipeline-client';
import type { PipelineResult } from '../../workflows/pipeline';
import { makePlan, startTestServer, startTestWorker, tinyStage, uniqueQueue, type TestServer } from '../helpers/temporal';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.stop(); });

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('stages run in DAG order, in parallel up to maxParallel', async () => {
  const q = uniqueQueue('dag');
  const log: string[] = [];
  let active = 0;
  let peak = 0;
  const w = await startTestWorker(s, q, { dataset: tinyStage({ sleepMs: 1200, onStart: (id) => { log.push(`start:${id}`); peak = Math.max(peak, ++active); }, onEnd: (id) => { active--; log.push(`end:${id}`); } }) });
  try {
    const plan = makePlan('dag', q, [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a'] }, { id: 'd', needs: ['a'] }, { id: 'e', needs: ['b', 'c', 'd'] }], { maxParallel: 2 });
    const h = await startPipeline(s.client, plan, { workflowId: `dag-${q}`, taskQueue: q, searchAttributes: true });
    const res = (await h.result()) as PipelineResult;
    assert.equal(res.status.state, 'succeeded');
    assert.equal(peak, 2, `peak concurrency ${peak}; log ${log.join(' ')}`);
    const at = (e: string): number => log.indexOf(e);
    for (const x of ['b', 'c', 'd']) assert.ok(at(`start:${x}`) > at('end:a'), log.join(' '));
    for (const x of ['b', 'c', 'd']) assert.ok(at('start:e') > at(`end:${x}`), log.join(' '));
    const e = res.status.stages.find((x) => x.id === 'e');
    const manifest = w.store.readManifest(e?.artifactId as string);
    assert.deepEqual(manifest.inputs.map((i) => i.from), ['b', 'c', 'd']);
    assert.equal(manifest.producer.workflowId, `dag-${q}`);
    const rec = readRun(w.store, `dag-${q}`);
    assert.equal(rec?.status, 'succeeded');
    assert.equal(rec?.stages.e.artifactId, e?.artifactId);
  } finally {
    await w.stop();
  }
});

test('a failing stage skips its dependents while the independent branch finishes', async () => {
  const q = uniqueQueue('fail');
  const ok = tinyStage({ sleepMs: 200 });
  const badAttempts: number[] = [];
  const w = await startTestWorker(s, q, {
    dataset: async (ctx) => {
      if (ctx.stage.id === 'bad') {
        badAttempts.push(ctx.attempt);
        throw new ClgrpoError(ErrorType.Config, 'bad stage: missing thing; set it');
      }
      return ok(ctx);
    },
  });
  try {
    const plan = makePlan('fail', q, [{ id: 'a' }, { id: 'bad', needs: ['a'] }, { id: 'after_bad', needs: ['bad'] }, { id: 'side', needs: ['a'] }, { id: 'side2', needs: ['side'] }]);
    const h = await startPipeline(s.client, plan, { workflowId: `fail-${q}`, taskQueue: q });
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause as ApplicationFailure;
    assert.equal(cause.type, 'PipelineFailedError');
    assert.match(cause.message, /bad \(ConfigError: bad stage: missing thing; set it\)/);
    const st = await liveStatus(h);
    const by = Object.fromEntries(st.stages.map((x) => [x.id, x.state]));
    assert.deepEqual(by, { a: 'succeeded', bad: 'failed', after_bad: 'skipped', side: 'succeeded', side2: 'succeeded' });
    // Non-retryable: one attempt only, though the stage's retry policy allows 3.
    assert.equal(plan.stages.find((x) => x.id === 'bad')?.retry.maximumAttempts, 3);
    assert.deepEqual(badAttempts, [1], 'the bad stage ran once');
    // The history agrees: the bad activity's one start event records attempt 1.
    const events = (await h.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === 'bad')?.eventId;
    const starts = events.filter((e) => scheduled != null && String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled));
    assert.deepEqual(starts.map((e) => e.activityTaskStartedEventAttributes?.attempt), [1]);
    assert.equal(readRun(w.store, `fail-${q}`)?.status, 'failed');
  } finally {
    await w.stop();
  }
});

test('a transient error is retried and then succeeds', async () => {
  const q = uniqueQueue('retry');
  let calls = 0;
  const ok = tinyStage();
  const w = await startTestWorker(s, q, {
    dataset: async (ctx) => {
      calls++;
      if (ctx.attempt < 3) throw new Error(`flaky attempt ${ctx.attempt}`);
      return ok(ctx);
    },
  });
  try {
    const plan = makePlan('retry', q, [{ id: 'flaky', retry: { maximumAttempts: 5 } }]);
    const h = await startPipeline(s.client, plan, { workflowId: `retry-${q}`, taskQueue: q });
    const res = (await h.result()) as PipelineResult;
    assert.equal(calls, 3);
    assert.equal(res.status.stages[0].state, 'succeeded');
    assert.equal(res.status.stages[0].attempt, 3);
  } finally {
    await w.stop();
  }
});

test('status query mid-run, duplicate start refused, cancel keeps work files, a new execution resumes', async () => {
  const q = uniqueQueue('cancel');
  let sawPrevious = false;
  let resumed = false;
  const w = await startTestWorker(s, q, {
    dataset: async (ctx) => {
      if (ctx.stage.id !== 'long') return tinyStage()(ctx);
      if (existsSync(join(ctx.workDir, 'checkpoint.txt'))) {
        // The second execution finds the first one's checkpoint in the stage-key work dir.
        resumed = true;
        return tinyStage()(ctx);
      }
      writeFileSync(join(ctx.workDir, 'checkpoint.txt'), 'step 1');
      sawPrevious ||= ctx.previousProgress !== undefined;
      for (let i = 0; ; i++) {
        ctx.heartbeat({ step: i, total: 1000, phase: 'looping', metrics: { loss: 1 / (i + 1) } });
        if (ctx.signal.aborted) throw new Error('stopped at step ' + i);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  });
  try {
    const plan = makePlan('cancel', q, [{ id: 'first' }, { id: 'long', needs: ['first'], timeouts: { heartbeatMs: 5000 } }, { id: 'later', needs: ['long'] }]);
    const id = `cancel-${q}`;
    const h = await startPipeline(s.client, plan, { workflowId: id, taskQueue: q });
    await waitFor(async () => {
      const st = await liveStatus(h);
      return st.stages[1].state === 'running' && (st.stages[1].progress?.step ?? 0) > 0;
    });
    const st = await liveStatus(h);
    assert.equal(st.stages[0].state, 'succeeded');
    assert.equal(st.stages[1].progress?.phase, 'looping');
    assert.equal(st.stages[1].attempt, 1);
    assert.equal(st.stages[2].state, 'pending');
    await assert.rejects(startPipeline(s.client, plan, { workflowId: id, taskQueue: q }), (e: unknown) =>
      e instanceof ClgrpoError && /already running.*clgrpo watch/.test(e.message));
    await h.cancel();
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    assert.equal((await h.describe()).status.name, 'CANCELLED');
    const rec = readRun(w.store, id);
    assert.equal(rec?.status, 'cancelled');
    assert.equal(rec?.stages.long.state, 'cancelled');
    assert.equal(rec?.stages.later.state, 'pending');
    assert.ok(existsSync(join(w.store.root, 'work', plan.stages[1].key, 'checkpoint.txt')));
    assert.equal(sawPrevious, false);
    // resume = a new execution of the same plan under the same id: reuse, then continue.
    const again = (await (await startPipeline(s.client, plan, { workflowId: id, taskQueue: q })).result()) as PipelineResult;
    assert.deepEqual(again.status.stages.map((x) => x.state), ['reused', 'succeeded', 'succeeded']);
    assert.equal(resumed, true);
    const rec2 = readRun(w.store, id);
    assert.equal(rec2?.status, 'succeeded');
    assert.deepEqual(rec2?.executions.map((e) => e.status), ['cancelled', 'succeeded']);
  } finally {
    await w.stop();
  }
});

test('a second run of the same plan reuses every stage by key; a changed stage reruns with its dependents', async () => {
  const q = uniqueQueue('reuse');
  const ran: string[] = [];
  const w = await startTestWorker(s, q, { dataset: tinyStage({ onStart: (id) => ran.push(id) }) });
  try {
    const specs = [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a'] }];
    const first = (await (await startPipeline(s.client, makePlan('reuse', q, specs), { workflowId: `r1-${q}`, taskQueue: q })).result()) as PipelineResult;
    assert.deepEqual(ran.sort(), ['a', 'b', 'c']);
    const second = (await (await startPipeline(s.client, makePlan('reuse', q, specs), { workflowId: `r2-${q}`, taskQueue: q })).result()) as PipelineResult;
    assert.deepEqual(ran.length, 3, 'nothing ran again');
    assert.deepEqual(second.status.stages.map((x) => [x.state, x.reused]), [['reused', true], ['reused', true], ['reused', true]]);
    assert.deepEqual(second.status.stages.map((x) => x.artifactId), first.status.stages.map((x) => x.artifactId));
    assert.equal(readRun(w.store, `r2-${q}`)?.stages.b.reused, true);
    const changed = [{ id: 'a' }, { id: 'b', needs: ['a'], params: { id: 'b', v: 2 } }, { id: 'c', needs: ['a'] }];
    await (await startPipeline(s.client, makePlan('reuse', q, changed), { workflowId: `r3-${q}`, taskQueue: q })).result();
    assert.deepEqual(ran.sort(), ['a', 'b', 'b', 'c']);
  } finally {
    await w.stop();
  }
});

test('a long plan past the history limit continues as new and keeps finished stages', async () => {
  const q = uniqueQueue('can');
  const ran: string[] = [];
  const w = await startTestWorker(s, q, { dataset: tinyStage({ onStart: (id) => ran.push(id) }) });
  try {
    const specs = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i, all) => ({ id, needs: i ? [all[i - 1]] : [] }));
    const h = await startPipeline(s.client, makePlan('can', q, specs), { workflowId: `can-${q}`, taskQueue: q, historyLimit: 25 });
    const res = (await h.result()) as PipelineResult;
    assert.equal(res.status.state, 'succeeded');
    assert.deepEqual(ran, ['a', 'b', 'c', 'd', 'e', 'f'], 'each stage ran once across the continued runs');
    const f = w.store.readManifest(res.status.stages[5].artifactId as string);
    assert.equal(f.inputs[0].artifactId, res.status.stages[4].artifactId);
    const d = await h.describe();
    assert.notEqual(d.runId, h.firstExecutionRunId, 'the run continued as new at least once');
  } finally {
    await w.stop();
  }
});
