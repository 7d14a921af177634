// FAULTS 11/13/17 under random timing: the seeded crash loop (helpers/crash-loop.ts). CI runs 20
// kills; `CLGRPO_CRASH_KILLS=100 npm run test:faults` (or `node --import tsx bench/faults.ts 100`)
// runs more. Asserts: every run completes, no stage completion lost or repeated, the final
// artifacts equal the uninterrupted reference's byte for byte, no staging dir or temp file left.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import type { PipelineResult } from '../../workflows/pipeline';
import { startTestServer, uniqueQueue, type TestServer } from '../helpers/temporal';
import { compileSpec, readStepLog, spawnWorker, startWorkflowWorker, tempDir, tinySpec, type ChildWorker } from './helpers/cluster';
import { artifactDigests, crashLoop, runOnce, storeProblems } from './helpers/crash-loop';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server?.stop(); });

let reference: Record<string, Record<string, string>> | undefined;
/** The uninterrupted run's digests: from the crash loop when it ran first, else a run of its own. */
async function referenceDigests(): Promise<Record<string, Record<string, string>>> {
  if (!reference) {
    const root = join(tempDir('reference'), 'store');
    const { result } = await runOnce(server, root, uniqueQueue('ref'), 'reference', { kills: 0, seed: 0, delayMs: [0, 0] }, 0, () => 0);
    reference = artifactDigests(root, result);
  }
  return reference;
}

async function until(cond: () => boolean, timeoutMs = 180_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('crash loop: seeded SIGKILLs of the stage worker; runs complete once each, bit-identical, nothing left over', async (t) => {
  const kills = Number(process.env.CLGRPO_CRASH_KILLS ?? 20);
  const seed = Number(process.env.CLGRPO_CRASH_SEED ?? 1);
  const report = await crashLoop(server, { kills, seed, delayMs: [0, 2500], log: (m) => t.diagnostic(m) });
  reference = report.reference;
  t.diagnostic(`crash-loop report: ${JSON.stringify({ ...report, perRun: undefined, reference: undefined })}`);
  assert.ok(report.kills >= kills, `only ${report.kills} kills landed`);
  assert.equal(report.runsCompleted, report.runs, 'every run completes');
  assert.equal(report.killsSurvived, report.kills);
  assert.equal(report.lostCompletions, 0);
  assert.equal(report.repeatedCompletions, 0, 'no stage published twice');
  assert.deepEqual(report.perRun.flatMap((r) => r.problems), [], 'store invariants');
  assert.ok(report.identicalArtifacts, 'final artifacts equal the uninterrupted run');
  // Kills landed inside training, and resuming there repeated at most one checkpoint interval per kill.
  assert.ok(report.perRun.some((r) => (r.killedIn.base ?? 0) + (r.killedIn.sft ?? 0) > 0), "some kills landed mid-training");
  assert.ok(report.totalRepeatedSteps <= 3 * report.kills, `repeated ${report.totalRepeatedSteps} steps over ${report.kills} kills`);
});

test('hung worker (SIGSTOP, no heartbeats): the stage times out, resumes on another worker, the woken attempt cannot corrupt it', async (t) => {
  const reference = await referenceDigests();
  const root = tempDir('hung');
  const queue = uniqueQueue('hung');
  const stepLog = join(root, 'steps.jsonl');
  const storeRoot = join(root, 'store');
  const wf = await startWorkflowWorker(server, `${queue}-wf`, storeRoot);
  const cfg = { address: server.info.address, storeRoot, queues: [queue], stepLog };
  const hung = spawnWorker({ ...cfg, identity: 'hung' });
  let rescuer: ChildWorker | undefined;
  try {
    await hung.ready;
    const h = await startPipeline(server.client, compileSpec(tinySpec({ queue })), { workflowId: 'hung', taskQueue: `${queue}-wf` });
    await until(() => readStepLog(stepLog).some((r) => r.pid === hung.pid && r.stage === 'base' && r.step >= 4));
    process.kill(hung.pid, 'SIGSTOP');
    const frozenAt = readStepLog(stepLog).filter((r) => r.stage === 'base').at(-1)?.step;
    rescuer = spawnWorker({ ...cfg, identity: 'rescuer' });
    const rescuerPid = rescuer.pid;
    await until(() => readStepLog(stepLog).some((r) => r.pid === rescuerPid && r.stage === 'base'));
    const resumedAt = readStepLog(stepLog).find((r) => r.pid === rescuerPid && r.stage === 'base')?.step;
    process.kill(hung.pid, 'SIGCONT'); // the stale attempt wakes up while the new one trains
    t.diagnostic(`froze the worker at base step ${frozenAt}; the retry resumed at step ${resumedAt}; woke the frozen one`);
    const result = (await h.result()) as PipelineResult;
    assert.equal(result.status.state, 'succeeded');
    assert.ok((result.status.stages.find((s) => s.id === 'base')?.attempt ?? 1) >= 2, 'base was retried after the heartbeat timeout');
    assert.ok((resumedAt ?? 0) > 1, `the retry resumed from a checkpoint (first step ${resumedAt})`);
    assert.deepEqual(storeProblems(storeRoot, ['data', 'base', 'sft']), []);
    assert.deepEqual(artifactDigests(storeRoot, result), reference, 'same files as the uninterrupted run');
  } finally {
    try { process.kill(hung.pid, 'SIGCONT'); } catch { /* gone */ }
    await hung.kill('SIGTERM');
    await rescuer?.kill('SIGTERM');
    await wf.stop();
  }
});

test('crash loop with whole workers (workflows + stages in the killed process): runs complete, bit-identical, nothing left over', async (t) => {
  const kills = Number(process.env.CLGRPO_CRASH_FULL_KILLS ?? 4);
  const report = await crashLoop(server, {
    kills, seed: Number(process.env.CLGRPO_CRASH_SEED ?? 1) + 1000, delayMs: [0, 2500], fullWorkers: true,
    reference: await referenceDigests(), log: (m) => t.diagnostic(m),
  });
  t.diagnostic(`crash-loop (whole workers) report: ${JSON.stringify({ ...report, perRun: undefined, reference: undefined })}`);
  assert.ok(report.kills >= kills);
  assert.equal(report.runsCompleted, report.runs);
  assert.equal(report.lostCompletions, 0);
  assert.equal(report.repeatedCompletions, 0);
  assert.deepEqual(report.perRun.flatMap((r) => r.problems), []);
  assert.ok(report.identicalArtifacts);
});
