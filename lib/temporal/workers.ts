// Builds the Temporal workers of one process: one worker on the pipeline task queue (workflows plus
// the store activities) and one per stage queue (stage activities), all on one connection. Used by
// `clgrpo worker`, by `clgrpo run`'s in-process worker, by tests and by the benchmark.
import { resolve } from 'node:path';
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { PIPELINE_TASK_QUEUE } from './names';
import { installRuntime } from './connection';

export const WORKFLOWS_PATH = resolve(__dirname, '..', '..', 'workflows', 'index.ts');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (webpack takes seconds; every worker shares it). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
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
  const workers: Worker[] = [];
  if (wfQueue) {
    workers.push(await Worker.create({
      ...common, taskQueue: wfQueue, workflowBundle: await workflowBundle(),
      maxConcurrentActivityTaskExecutions: queues.includes(wfQueue) ? o.concurrency ?? 1 : 8,
    }));
  }
  for (const q of queues.filter((x) => x !== wfQueue)) {
    workers.push(await Worker.create({ ...common, taskQueue: q, maxConcurrentActivityTaskExecutions: o.concurrency ?? 1 }));
  }
  return workers;
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
