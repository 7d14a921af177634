// Runs a registry stage implementation in its own worker thread (entry: stage-thread.js), so TF.js
// compute blocks that thread's event loop, not the Temporal worker's (workflow tasks, heartbeats and
// cancellation stay prompt), and two stages in one process use two cores (wasm has no threads in
// Node; each worker thread gets its own TF.js backend). The parent keeps the real StageContext:
// heartbeats from the thread go through its throttle, logs through its logger, its cancellation
// signal is forwarded as an `abort` message; a thread that does not stop within the grace period
// after that is terminated. Every thread is terminated before its promise settles (no leaks).
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { applyNativeEnvDefaults } from '../lib/ml/native-env';
import type { StageKind } from '../lib/plan/types';
import { deserializeError, type AbortMessage, type ThreadMessage, type ThreadStageContext } from './thread-protocol';
import type { StageContext, StageOutput } from './types';

// Re-exported for activities/index.ts; the pure helper lives in lib/stage (the CLI sizes workers with it).
export { stageIsolation, type StageIsolation } from '../lib/stage/isolation';

export const STAGE_THREAD_ENTRY = join(__dirname, 'stage-thread.js');
export const DEFAULT_ABORT_GRACE_MS = 20_000;

/** The part of a StageContext that can be cloned into a thread. */
export function threadContext(ctx: StageContext): ThreadStageContext {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.env)) if (typeof v === 'string') env[k] = v;
  return {
    run: ctx.run, stage: ctx.stage, inputs: ctx.inputs, outDir: ctx.outDir, workDir: ctx.workDir, attempt: ctx.attempt,
    workerIdentity: ctx.workerIdentity, ...(ctx.previousProgress ? { previousProgress: ctx.previousProgress } : {}), env,
  };
}

export interface ThreadRunOptions {
  /** Time the thread gets to checkpoint and end after an abort before it is terminated. */
  abortGraceMs?: number;
  /** Thread entry (tests point it elsewhere). */
  entry?: string;
}

function reasonText(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : r === undefined ? 'cancelled' : String(r);
}

/** Runs `activities/<kind>.ts` in a fresh worker thread with ctx; settles once the thread is gone. */
export function runStageInThread(kind: StageKind, ctx: StageContext, o: ThreadRunOptions = {}): Promise<StageOutput> {
  const grace = o.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  const control = new MessageChannel();
  // TF reads its thread count and log level from the process environment, which only this (main)
  // thread's process.env writes reach: set before the thread can load the native backend.
  applyNativeEnvDefaults();
  // execArgv []: the entry registers the TypeScript hook itself; inheriting e.g. `--import tsx` would hook twice.
  const worker = new Worker(o.entry ?? STAGE_THREAD_ENTRY, {
    workerData: { kind, ctx: threadContext(ctx), control: control.port2 }, transferList: [control.port2], execArgv: [],
  });
  return new Promise<StageOutput>((resolve, reject) => {
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      control.port1.postMessage({ type: 'abort', reason: reasonText(ctx.signal) } satisfies AbortMessage);
      graceTimer ??= setTimeout(() => settle(() => reject(new ClgrpoError(ErrorType.Cancelled,
        `stage '${ctx.stage.id}' did not stop within ${grace} ms of the cancel; its thread was terminated (the last checkpoint stays)`))), grace);
    };
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      if (graceTimer) clearTimeout(graceTimer);
      control.port1.close();
      // Settle only once the thread is gone: a finished activity leaves no thread behind.
      worker.terminate().then(fn, fn);
    };
    worker.on('message', (m: ThreadMessage) => {
      if (settled) return;
      if (m.type === 'heartbeat') ctx.heartbeat(m.details);
      else if (m.type === 'log') ctx.log[m.level](m.msg, m.meta);
      else if (m.type === 'done') settle(() => resolve(m.output));
      else if (m.type === 'error') settle(() => reject(deserializeError(m.error)));
    });
    // An exception nothing in the thread caught: retryable, like any unknown error.
    worker.on('error', (err) => settle(() => reject(Object.assign(new Error(`stage thread crashed: ${err.message}`, { cause: err }), { name: 'StageThreadCrashed' }))));
    worker.on('exit', (code) => settle(() => reject(Object.assign(
      new Error(`stage thread exited with code ${code} before reporting a result`), { name: 'StageThreadExited', exitCode: code }))));
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}
