// The lifecycle of one worker process: clean stale staging dirs, connect, build the activities,
// run the workers, stop on SIGINT/SIGTERM with grace time to checkpoint. lib/ never constructs
// activities itself: the composition root (worker.ts) passes `createActivities` in, and the CLI
// gets the resulting `StartWorker` from cli.ts (CliDeps), so the layering stays one-way.
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from '../stage/types';
import { ArtifactStore, storeRoot } from '../store';
import { connectWorker, type Endpoint } from './connection';
import { PIPELINE_TASK_QUEUE } from './names';
import { createWorkers, runWorkers, type WorkflowThread } from './workers';

type Env = Readonly<Record<string, string | undefined>>;

/** What worker.ts injects: the activity factory (activities/index.ts) and the kinds this build serves. */
export interface ActivityProvider {
  createActivities(deps: { store: ArtifactStore; log: Logger; env: Env }): object;
  availableStageKinds(): string[];
}

export interface WorkerProcessOptions {
  endpoint: Endpoint;
  env: Env;
  queues: string[];
  concurrency?: number;
  /** Pipeline workflow queue to poll as well; null for activity-only workers. */
  workflowQueue?: string | null;
  log?: Logger;
  shutdownGraceMs?: number;
  /** Where workflow code runs (workers.ts sandboxOptions); default 'main'. */
  workflowThread?: WorkflowThread;
}

export interface WorkerProcess {
  done: Promise<void>;
  shutdown(): void;
  connection: NativeConnection;
}

export type StartWorker = (o: WorkerProcessOptions) => Promise<WorkerProcess>;

export const consoleLog = (prefix: string): Logger => ({
  info: (m) => console.error(`${prefix} ${m}`),
  warn: (m) => console.error(`${prefix} warning: ${m}`),
  error: (m) => console.error(`${prefix} error: ${m}`),
});

export async function startWorkerProcess(provider: ActivityProvider, o: WorkerProcessOptions): Promise<WorkerProcess> {
  const log = o.log ?? consoleLog('[worker]');
  const store = new ArtifactStore(storeRoot(o.env));
  const cleaned = store.cleanStaging();
  if (cleaned) log.info(`removed ${cleaned} stale staging dir(s) left by crashed attempts`);
  const connection = await connectWorker(o.endpoint);
  const activities = provider.createActivities({ store, log, env: o.env });
  const workflowQueue = o.workflowQueue === undefined ? PIPELINE_TASK_QUEUE : o.workflowQueue;
  const workers = await createWorkers({
    connection, namespace: o.endpoint.namespace, activities, queues: o.queues, concurrency: o.concurrency,
    workflowQueue, shutdownGraceMs: o.shutdownGraceMs, workflowThread: o.workflowThread,
  });
  const h = runWorkers(workers);
  log.info(`polling ${[workflowQueue, ...o.queues].filter(Boolean).join(', ')} at ${o.endpoint.address}; ` +
    `stage kinds: ${provider.availableStageKinds().join(', ')}; store ${store.root}`);
  return { done: h.done.finally(() => connection.close()), shutdown: h.shutdown, connection };
}

/** Stops the worker on the first SIGINT/SIGTERM (a second one exits at once). */
export function shutdownOnSignals(w: { shutdown(): void }, log: Logger): void {
  let asked = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (asked) process.exit(130);
    asked = true;
    log.info(`${sig}: stopping; running stages get the grace time to checkpoint (again to exit now)`);
    w.shutdown();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** One line naming the TF.js backend this worker's training stages would use (when lib/ml exists). */
export async function describeBackend(env: Env): Promise<string> {
  try {
    const ml = require('../ml/backend') as typeof import('../ml/backend');
    return ml.describeBackendChoice(await ml.initBackend({ env }));
  } catch (err) {
    return `TF.js backend: unavailable (${(err as Error).message})`;
  }
}
