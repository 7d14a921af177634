// The seeded crash loop (FAULTS 11, 13, 17 under random timing): runs the tiny dataset → pretrain →
// sft plan once without faults (the reference), then runs it again in fresh stores while SIGKILLing
// the stage worker at seeded random moments until `kills` kills have landed, restarting it each
// time. Every run must complete; afterwards each store is checked: one artifact per stage key, the
// artifacts' files equal the reference's (byte for byte; training.json minus its wall-clock
// throughput curve), no staging dir or temp file left. Returns the numbers for the report.
// Used by test/faults/crash-loop.test.ts (CI size) and bench/faults.ts (any size).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { rngFor } from '../../../lib/rng';
import { ArtifactStore } from '../../../lib/store';
import { startPipeline } from '../../../lib/temporal/pipeline-client';
import type { PipelineResult } from '../../../workflows/pipeline';
import { uniqueQueue, type TestServer } from '../../helpers/temporal';
import {
  compileSpec, readStepLog, repeatedSteps, spawnWorker, startWorkflowWorker, storeLeftovers, tempDir, tinySpec, type ChildWorker,
} from './cluster';

export interface CrashLoopOptions {
  kills: number;
  seed: number;
  /** Kill this long after the worker is ready: uniform in [min, max] ms. */
  delayMs: [number, number];
  log?: (m: string) => void;
  /**
   * Workers are whole `clgrpo worker`-like processes (workflows + stage activities), so kills also
   * hit workflow tasks and sticky caches; default: workflows in the test process.
   */
  fullWorkers?: boolean;
  /** Digests of an uninterrupted run of the same plan (skips the reference run). */
  reference?: Record<string, Record<string, string>>;
}

export interface RunReport {
  workflowId: string;
  kills: number;
  killedIn: Record<string, number>;
  repeatedSteps: Record<string, number>;
  attempts: Record<string, number>;
  wallMs: number;
  problems: string[];
}

export interface CrashLoopReport {
  seed: number;
  kills: number;
  killsSurvived: number;
  runs: number;
  runsCompleted: number;
  totalRepeatedSteps: number;
  repeatedCompletions: number;
  lostCompletions: number;
  /** Stages whose completion was lost to a kill and recovered from the store by the retry. */
  recoveredCompletions: number;
  identicalArtifacts: boolean;
  /** The uninterrupted run's file digests per stage (for other tests of the same plan). */
  reference: Record<string, Record<string, string>>;
  leftovers: number;
  referenceWallMs: number;
  perRun: RunReport[];
}

const TRAINING = new Set(['base', 'sft']);

/** Per stage: file → sha256 of the stage's published artifact (manifest excluded, see header). */
export function artifactDigests(root: string, result: PipelineResult): Record<string, Record<string, string>> {
  const store = new ArtifactStore(root);
  const out: Record<string, Record<string, string>> = {};
  for (const s of result.status.stages) {
    const dir = store.artifactDir(s.artifactId as string);
    const files: Record<string, string> = {};
    for (const f of store.readManifest(s.artifactId as string).files) {
      let data: Buffer = readFileSync(join(dir, f.path));
      if (f.path === 'training.json') {
        const t = JSON.parse(data.toString()) as { curves: Record<string, unknown> };
        delete t.curves.tokensPerSec;
        data = Buffer.from(JSON.stringify(t));
      }
      files[f.path] = createHash('sha256').update(data).digest('hex');
    }
    out[s.id] = files;
  }
  return out;
}

/** Store invariants after a finished run: one artifact per stage key, all indexed, nothing left over. */
export function storeProblems(root: string, stageIds: string[]): string[] {
  const problems: string[] = [];
  const store = new ArtifactStore(root);
  const artifacts = store.listArtifacts();
  const keys = readdirSync(join(root, 'index', 'stage-keys'));
  if (artifacts.length !== stageIds.length) problems.push(`${artifacts.length} artifacts for ${stageIds.length} stages`);
  if (keys.length !== stageIds.length) problems.push(`${keys.length} stage-key index entries for ${stageIds.length} stages`);
  const producers = artifacts.map((a) => store.readManifest(a).producer.stageId).sort();
  if (new Set(producers).size !== producers.length) problems.push(`a stage published twice: ${producers.join(', ')}`);
  for (const a of artifacts) if (!store.verify(a).ok) problems.push(`artifact ${a} fails verify`);
  for (const l of storeLeftovers(root)) problems.push(`leftover ${l}`);
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PENDING_ACTIVITY_STATE_STARTED = 2; // temporal.api.enums.v1.PendingActivityState

/** The pool worker currently running a stage activity of the run (by its Temporal identity), if any. */
async function busyWorker(h: WorkflowHandle, pool: Map<string, ChildWorker>): Promise<{ identity: string; stage: string } | undefined> {
  for (const w of pool.values()) {
    // A pool worker that exited on its own (not killed by the loop) is a failure to report, not to wait on.
    if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`a worker exited by itself (${w.child.exitCode ?? w.child.signalCode}): ${w.output().slice(-3000)}`);
  }
  const d = await h.describe();
  for (const p of d.raw.pendingActivities ?? []) {
    const identity = p.lastWorkerIdentity ?? '';
    if (p.state === PENDING_ACTIVITY_STATE_STARTED && pool.has(identity)) return { identity, stage: p.activityId ?? '?' };
  }
  return undefined;
}

/**
 * Two stage workers poll the queue (a warm spare hides the seconds a new process needs to start).
 * Each kill waits until a stage activity runs on a live worker (Temporal names the worker), lets it
 * run a seeded random delay, SIGKILLs that worker and starts a replacement at once.
 */
export async function runOnce(s: TestServer, root: string, queue: string, wfId: string, o: CrashLoopOptions, killBudget: number, next: () => number): Promise<{ result: PipelineResult; report: RunReport }> {
  const plan = compileSpec(tinySpec({ queue }));
  const wf = o.fullWorkers ? { stop: async () => {} } : await startWorkflowWorker(s, `${queue}-wf`, root);
  const stepLog = join(root, '..', `${wfId}.steps.jsonl`);
  const t0 = Date.now();
  const report: RunReport = { workflowId: wfId, kills: 0, killedIn: {}, repeatedSteps: {}, attempts: {}, wallMs: 0, problems: [] };
  const pool = new Map<string, ChildWorker>();
  let spawned = 0;
  const spawnOne = (): void => {
    const identity = `${wfId}-w${spawned++}@faults`;
    pool.set(identity, spawnWorker({ address: s.info.address, storeRoot: root, queues: [queue], stepLog, identity, workflowQueue: o.fullWorkers ? `${queue}-wf` : null }));
  };
  spawnOne();
  spawnOne();
  try {
    const h: WorkflowHandle = await startPipeline(s.client, plan, { workflowId: wfId, taskQueue: `${queue}-wf` });
    let done = false;
    const result = h.result().finally(() => { done = true; }) as Promise<PipelineResult>;
    result.catch(() => {});
    while (!done && report.kills < killBudget) {
      let busy: { identity: string; stage: string } | undefined;
      while (!done && !(busy = await busyWorker(h, pool))) await sleep(200);
      if (!busy) break;
      // A quarter of the kills count from when the attempt was seen running (they land in stage
      // set-up); the rest from its first heartbeat (they land between training steps), so every
      // kill is useful however slow set-up is on a loaded machine.
      const inSetup = next() < 0.25;
      const pid = pool.get(busy.identity)?.pid;
      while (!inSetup && !done && !readStepLog(stepLog).some((r) => r.pid === pid && r.stage === busy?.stage)) await sleep(100);
      const delay = o.delayMs[0] + next() * (o.delayMs[1] - o.delayMs[0]);
      await Promise.race([sleep(delay), result]);
      if (done) break;
      const last = readStepLog(stepLog).filter((r) => r.stage === busy.stage).at(-1);
      await pool.get(busy.identity)?.kill('SIGKILL');
      pool.delete(busy.identity);
      spawnOne();
      report.kills += 1;
      report.killedIn[busy.stage] = (report.killedIn[busy.stage] ?? 0) + 1;
      o.log?.(`${wfId}: kill ${report.kills}: ${busy.stage} on ${busy.identity}, ${Math.round(delay)} ms after ${inSetup ? 'it was seen running' : 'its first heartbeat'} (last heartbeat: ${last ? `step ${last.step}/${last.total}` : 'none'})`);
    }
    const r = await result;
    report.wallMs = Date.now() - t0;
    report.repeatedSteps = Object.fromEntries(Object.entries(repeatedSteps(readStepLog(stepLog))).filter(([k]) => TRAINING.has(k)));
    report.attempts = Object.fromEntries(r.status.stages.map((x) => [x.id, x.attempt ?? 1]));
    return { result: r, report };
  } finally {
    await Promise.all([...pool.values()].map((w) => w.kill('SIGTERM')));
    await wf.stop();
  }
}

export async function crashLoop(s: TestServer, o: CrashLoopOptions): Promise<CrashLoopReport> {
  const rand = rngFor(o.seed, 'faults', 'crash-loop');
  const next = (): number => rand.next();
  const base = tempDir('crash-loop');
  const refRoot = join(base, 'reference');
  const t0 = Date.now();
  let refDigests = o.reference;
  if (!refDigests) {
    const ref = await runOnce(s, refRoot, uniqueQueue('ref'), `ref-${o.seed}`, o, 0, next);
    refDigests = artifactDigests(refRoot, ref.result);
    for (const p of storeProblems(refRoot, Object.keys(refDigests))) o.log?.(`reference run: ${p}`);
  }
  const referenceWallMs = o.reference ? 0 : Date.now() - t0;
  const stageIds = Object.keys(refDigests);
  const report: CrashLoopReport = {
    seed: o.seed, kills: 0, killsSurvived: 0, runs: 0, runsCompleted: 0, totalRepeatedSteps: 0, repeatedCompletions: 0,
    lostCompletions: 0, recoveredCompletions: 0, identicalArtifacts: true, leftovers: 0, referenceWallMs, perRun: [], reference: refDigests,
  };
  while (report.kills < o.kills) {
    const root = join(base, `run-${report.runs}`);
    const wfId = `crash${o.fullWorkers ? '-full' : ''}-${o.seed}-${report.runs}`;
    report.runs += 1;
    const { result, report: r } = await runOnce(s, root, uniqueQueue('crash'), wfId, o, o.kills - report.kills, next);
    report.kills += r.kills;
    if (result.status.state === 'succeeded') {
      report.runsCompleted += 1;
      report.killsSurvived += r.kills;
    }
    report.totalRepeatedSteps += Object.values(r.repeatedSteps).reduce((a, b) => a + b, 0);
    r.problems = storeProblems(root, stageIds);
    const artifacts = new ArtifactStore(root).listArtifacts().length;
    report.repeatedCompletions += Math.max(0, artifacts - stageIds.length);
    // A kill after publish but before the activity completed is retried and finds its own artifact
    // (state 'reused'): a completion recovered, not lost. Lost = a stage that did not end done.
    report.lostCompletions += result.status.stages.filter((x) => x.state !== 'succeeded' && x.state !== 'reused').length;
    report.recoveredCompletions += result.status.stages.filter((x) => x.state === 'reused').length;
    report.leftovers += r.problems.filter((p) => p.startsWith('leftover')).length;
    const digests = artifactDigests(root, result);
    for (const id of stageIds) {
      if (JSON.stringify(digests[id]) !== JSON.stringify(refDigests[id])) {
        report.identicalArtifacts = false;
        r.problems.push(`stage ${id}: files differ from the reference: ${JSON.stringify(digests[id])} vs ${JSON.stringify(refDigests[id])}`);
      }
    }
    report.perRun.push(r);
    o.log?.(`${wfId}: ${result.status.state} after ${r.kills} kills in ${r.wallMs} ms; repeated steps ${JSON.stringify(r.repeatedSteps)}; attempts ${JSON.stringify(r.attempts)}${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`);
  }
  return report;
}
