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
  /**
   * Where workflow code runs: 'main' (default), the sandbox in this thread; 'thread', the SDK's
   * own worker thread. See `sandboxOptions`.
   */
  workflowThread?: WorkflowThread;
}

export type WorkflowThread = 'main' | 'thread';

/**
 * Worker options for where the workflow sandbox runs. 'main' is the SDK's `debugMode`, which does
 * only two things (worker-options.js, worker.js createWorkflowCreator in @temporalio/worker 1.24):
 * the same reusable V8 sandbox is made in this thread instead of a worker thread, and the
 * deadlock timeout defaults to none, so it is set back to the SDK's usual 5 s. Same isolation and
 * determinism checks (the SDK's replayer runs this way). It spares a thread that loads the SDK and
 * its protobufs a second time: ~0.35 s of every `clgrpo run` start (issue 14, docs/runtime.md).
 * 'thread' keeps workflow activations off the main thread's event loop: for a long-lived
 * `clgrpo worker` serving many runs.
 */
export function sandboxOptions(where: WorkflowThread): { debugMode?: true; isolateExecutionTimeout?: '5s' } {
  return where === 'main' ? { debugMode: true, isolateExecutionTimeout: '5s' } : {};
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
      ...common, ...sandboxOptions(o.workflowThread ?? 'main'), taskQueue: wfQueue, workflowBundle: bundled,
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
