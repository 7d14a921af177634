// Builds the Temporal workers of one process: one worker on the pipeline task queue (workflows plus
// the store activities) and one per stage queue (stage activities), all on one connection. Used by
// `clgrpo worker`, by `clgrpo run`'s in-process worker, by tests and by the benchmark.
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { PIPELINE_TASK_QUEUE } from './names';
import { installRuntime } from './connection';
import { cachedWorkflowBundle } from './workflow-bundle';

export { WORKFLOWS_PATH } from './workflow-bundle';

let bundle: Promise<WorkflowBundle> | undefined;
/**
 * The workflow bundle, loaded once per process (every worker shares it) from the on-disk cache
 * keyed by the workflow sources (workflow-bundle.ts); webpack runs only when those changed.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= cachedWorkflowBundle().then(({ code }) => ({ code }));
  return bundle;
}

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  /** Activity functions by name (activities/index.ts createActivities; injected, never built here). */
  activities: object;
  /** Stage task queues to serve (activities). */
  queues: string[];
  /** Task queue of pipeline workflows; `null` serves activities only. */
  workflowQueue?: string | null;
  /** Stage activities run at once per queue. */
  concurrency?: number;
  identity?: string;
  /** How long running activities get to checkpoint after shutdown is asked for. */
  shutdownGraceMs?: number;
}

export async function createWorkers(o: WorkerSetOptions): Promise<Worker[]> {
  installRuntime();
  const wfQueue = o.workflowQueue === undefined ? PIPELINE_TASK_QUEUE : o.workflowQueue;
  const common = {
    connection: o.connection, namespace: o.namespace, activities: o.activities, ...(o.identity ? { identity: o.identity } : {}),
    shutdownGraceTime: o.shutdownGraceMs ?? 10_000,
    // Heartbeats reach the server every ~2 s so `status`/`watch` show live progress.
    maxHeartbeatThrottleInterval: '2s' as const, defaultHeartbeatThrottleInterval: '2s' as const,
  };
  const queues = [...new Set(o.queues)];
  // Created side by side: the workflow worker's start (loading the bundle into its sandbox) is the slow one.
  const bundled = wfQueue ? await workflowBundle() : undefined;
  return Promise.all([
    ...(wfQueue ? [Worker.create({
      ...common, taskQueue: wfQueue, workflowBundle: bundled,
      maxConcurrentActivityTaskExecutions: queues.includes(wfQueue) ? o.concurrency ?? 1 : 8,
    })] : []),
    ...queues.filter((x) => x !== wfQueue).map((q) => Worker.create({ ...common, taskQueue: q, maxConcurrentActivityTaskExecutions: o.concurrency ?? 1 })),
  ]);
}

/** Runs workers until `shutdown()`; resolves when all have stopped (running activities finished or cancelled). */
export function runWorkers(workers: Worker[]): { done: Promise<void>; shutdown(): void } {
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    done,
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
