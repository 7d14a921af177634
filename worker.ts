// The composition root of a worker process: the real activities (activities/index.ts) plugged into
// the worker lifecycle in lib/temporal/worker-process.ts. cli.ts hands `startWorker` to the
// commands that run a worker (`clgrpo worker`, `run`, `resume`), so lib/ never imports activities/.
import { availableStageKinds, createActivities } from './activities';
import { startWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from './lib/temporal/worker-process';

export type { WorkerProcessOptions } from './lib/temporal/worker-process';

/** Polls the pipeline workflow queue and the given stage queues with the real activities until shut down. */
export function startWorker(o: WorkerProcessOptions): Promise<WorkerProcess> {
  return startWorkerProcess({ createActivities, availableStageKinds }, o);
}
