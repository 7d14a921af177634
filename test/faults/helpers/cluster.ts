// Test rig of the reliability suite: a real Temporal dev server (per test file), the pipeline
// workflow worker in this process (the workflow bundle is built once), and stage workers as child
// processes (worker-child.ts) that a test may SIGKILL at any moment and start again. Plans come
// from real YAML specs through the real loader and compiler, on a unique task queue.
// Exports: tinySpec, compileSpec, spawnWorker, startWorkflowWorker, storeLeftovers, readStepLog.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createActivities } from '../../../activities';
import { compilePlan, type Plan } from '../../../lib/plan';
import { loadSpecText } from '../../../lib/spec';
import { ArtifactStore } from '../../../lib/store';
import { createWorkers, runWorkers } from '../../../lib/temporal/workers';
import type { TestServer } from '../../helpers/temporal';
import { quietLog } from '../../helpers/temporal';
import type { WorkerChildConfig } from './worker-child';

export const REPO = resolve(__dirname, '../../..');

export interface TinyOptions {
  name?: string;
  queue: string;
  pretrainSteps?: number;
  sftSteps?: number;
  checkpointEvery?: number;
  heartbeat?: string;
  seed?: number;
}

/** dataset → pretrain → sft (label target): the demo's spine at test size (seconds per stage). */
export function tinySpec(o: TinyOptions): string {
  return `schemaVersion: 1
name: ${o.name ?? 'faults-tiny'}
seed: ${o.seed ?? 7}
maxParallel: 2
defaults:
  queue: ${o.queue}
  retry: { maximumAttempts: 60, initialInterval: "1s", backoffCoefficient: 1, maximumInterval: "1s" }
  timeouts: { heartbeat: "${o.heartbeat ?? '4s'}", startToClose: "10m" }
stages:
  data:
    kind: dataset
    params: { source: synthetic, train: 48, val: 8, test: 16, imageSize: 16 }
  base:
    kind: pretrain
    needs: [data]
    params: { model: tiny, steps: ${o.pretrainSteps ?? 12}, batchSize: 8, lr: 3.0e-3, warmupSteps: 2, checkpointEvery: ${o.checkpointEvery ?? 3}, keepCheckpoints: 2 }
  sft:
    kind: sft
    needs: [base, data]
    params: { target: label, steps: ${o.sftSteps ?? 8}, batchSize: 8, checkpointEvery: ${o.checkpointEvery ?? 3}, keepCheckpoints: 2 }
`;
}

export function compileSpec(text: string, file = 'faults.yaml'): Plan {
  const loaded = loadSpecText(text, file);
  if ('errors' in loaded) throw new Error(`spec: ${loaded.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('; ')}`);
  const r = compilePlan(loaded.spec);
  if ('errors' in r) throw new Error(`plan: ${r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('; ')}`);
  return r.plan;
}

export interface ChildWorker {
  child: ChildProcess;
  pid: number;
  /** Resolves once the child polls its queues (rejects if it dies first). */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnWorker(cfg: WorkerChildConfig, env: Record<string, string | undefined> = {}): ChildWorker {
  const dir = mkdtempSync(join(tmpdir(), 'fault-worker-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(cfg));
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'worker-child.ts'), file], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TFJS_BACKEND: 'wasm', ...env },
  });
  let out = '';
  let readyFn: () => void = () => {};
  let failFn: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => { readyFn = res; failFn = rej; });
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('READY ')) readyFn(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => {
    failFn(new Error(`worker ${child.pid} exited (${code ?? signal}) before it was ready: ${out.slice(-2000)}`));
    res({ code, signal });
  }));
  ready.catch(() => {});
  return {
    child, pid: child.pid as number, ready, exited, output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Workflow worker (plus lookup/record-run activities) on `queue`, in this process. */
export async function startWorkflowWorker(s: TestServer, queue: string, storeRoot: string): Promise<{ stop(): Promise<void> }> {
  const activities = createActivities({ store: new ArtifactStore(storeRoot), log: quietLog, env: {} });
  const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: [], workflowQueue: queue, shutdownGraceMs: 1000 });
  const h = runWorkers(workers);
  return { async stop() { h.shutdown(); await h.done; } };
}

export interface StepRecord { pid: number; stage: string; attempt: number; step: number; total: number; phase?: string; checkpoint?: string }

export function readStepLog(file: string): StepRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepRecord);
}

/**
 * Steps done again after a crash, per stage: for each process after the first, the steps between
 * where it resumed and the furthest step any earlier process had reached. Heartbeats of training
 * stages are sent after every step, so the log is exact to one step.
 */
export function repeatedSteps(records: StepRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  const byStage = new Map<string, StepRecord[]>();
  for (const r of records.filter((x) => x.phase === undefined)) byStage.set(r.stage, [...(byStage.get(r.stage) ?? []), r]);
  for (const [stage, recs] of byStage) {
    let furthest = 0;
    let repeated = 0;
    const pids = [...new Set(recs.map((r) => r.pid))];
    for (const pid of pids) {
      const mine = recs.filter((r) => r.pid === pid);
      const start = Math.min(...mine.map((r) => r.step)) - 1; // the first heartbeat is after one step
      const end = Math.max(...mine.map((r) => r.step));
      repeated += Math.max(0, Math.min(furthest, end) - start);
      furthest = Math.max(furthest, end);
    }
    out[stage] = repeated;
  }
  return out;
}

/** Files in the store that a finished run must not leave: staging dirs, temp/partial files. */
export function storeLeftovers(root: string): string[] {
  const bad: string[] = [];
  for (const n of readdirSync(join(root, 'staging'))) bad.push(`staging/${n}`);
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(root, rel))) {
      const p = rel ? `${rel}/${n}` : n;
      if (/\.(tmp|part)$|^\.tmp-|^\.LATEST-/.test(n)) bad.push(p);
      if (statSync(join(root, p)).isDirectory()) walk(p);
    }
  };
  walk('');
  return [...new Set(bad)];
}

const made: string[] = [];
process.on('exit', () => {
  if (process.env.CLGRPO_FAULTS_KEEP) return; // keep the stores for a post-mortem
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A temp dir removed when the test process exits (CLGRPO_FAULTS_KEEP=1 keeps it). */
export function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `faults-${label}-`));
  made.push(d);
  return d;
}
