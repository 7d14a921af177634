// A clgrpo worker process: polls the pipeline workflow queue and the given stage queues, runs the
// stage activities against the shared store ($CLGRPO_HOME), and on SIGINT/SIGTERM stops polling
// and gives running activities the grace time to checkpoint. `clgrpo worker` calls startWorker.
import type { NativeConnection } from '@temporalio/worker';
import { availableStageKinds, createActivities } from './activities';
import type { Logger } from './activities/types';
import { ArtifactStore, storeRoot } from './lib/store';
import { connectWorker, type Endpoint } from './lib/temporal/connection';
import { createWorkers, runWorkers } from './lib/temporal/workers';
import { PIPELINE_TASK_QUEUE } from './workflows/names';

export interface WorkerProcessOptions {
  endpoint: Endpoint;
  env: Readonly<Record<string, string | undefined>>;
  queues: string[];
  concurrency?: number;
  /** Pipeline workflow queue to poll as well; null for activity-only workers. */
  workflowQueue?: string | null;
  log?: Logger;
  shutdownGraceMs?: number;
}

export const consoleLog = (prefix: string): Logger => ({
  info: (m) => console.error(`${prefix} ${m}`),
  warn: (m) => console.error(`${prefix} warning: ${m}`),
  error: (m) => console.error(`${prefix} error: ${m}`),
});

export async function startWorker(o: WorkerProcessOptions): Promise<{ done: Promise<void>; shutdown(): void; connection: NativeConnection }> {
  const log = o.log ?? consoleLog('[worker]');
  const store = new ArtifactStore(storeRoot(o.env));
  const cleaned = store.cleanStaging();
  if (cleaned) log.info(`removed ${cleaned} stale staging dir(s) left by crashed attempts`);
  const connection = await connectWorker(o.endpoint);
  const activities = createActivities({ store, log, env: o.env });
  const workers = await createWorkers({
    connection, namespace: o.endpoint.namespace, activities, queues: o.queues, concurrency: o.concurrency,
    workflowQueue: o.workflowQueue === undefined ? PIPELINE_TASK_QUEUE : o.workflowQueue, shutdownGraceMs: o.shutdownGraceMs,
  });
  const h = runWorkers(workers);
  log.info(`polling ${[o.workflowQueue === undefined ? PIPELINE_TASK_QUEUE : o.workflowQueue, ...o.queues].filter(Boolean).join(', ')} at ${o.endpoint.address}; ` +
    `stage kinds: ${availableStageKinds().join(', ')}; store ${store.root}`);
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
export async function describeBackend(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  try {
    const ml = require('./lib/ml/backend') as typeof import('./lib/ml/backend');
    return ml.describeBackendChoice(await ml.initBackend({ env }));
  } catch (err) {
    return `TF.js backend: unavailable (${(err as Error).message})`;
  }
}
