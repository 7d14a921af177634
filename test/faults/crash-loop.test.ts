// FAULTS 11/13/17 under random timing: the seeded crash loop (helpers/crash-loop.ts). CI runs 20
// kills; `CLGRPO_CRASH_KILLS=100 npm run test:faults` (or `node --import tsx bench/faults.ts 100`)
// runs more. Asserts: every run completes, no stage completion lost or repeated, the final
// artifacts equal the uninterrupted reference's byte for byte, no staging dir or temp file left.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/temporal';
import { crashLoop } from './helpers/crash-loop';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server?.stop(); });

test('crash loop: seeded SIGKILLs of the stage worker; runs complete once each, bit-identical, nothing left over', async (t) => {
  const kills = Number(process.env.CLGRPO_CRASH_KILLS ?? 20);
  const seed = Number(process.env.CLGRPO_CRASH_SEED ?? 1);
  const report = await crashLoop(server, { kills, seed, delayMs: [0, 2500], log: (m) => t.diagnostic(m) });
  t.diagnostic(`crash-loop report: ${JSON.stringify({ ...report, perRun: undefined })}`);
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
