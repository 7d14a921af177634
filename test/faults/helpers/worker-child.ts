// A real stage worker in its own process, for the reliability suite: connects to a Temporal server,
// serves stage activities (optionally workflows too) on the given queues with the real stage
// implementations (activities/<kind>.ts) over a real ArtifactStore, so a test can SIGKILL it at any
// moment. Every heartbeat a stage sends is also appended (synchronously) to `stepLog` as one JSON
// line {pid, stage, attempt, step, total, checkpoint}: after a kill, the log says how far each attempt
// got, which is how the suite counts repeated steps. Prints `READY <pid>` once polling.
// Run: `node --import tsx test/faults/helpers/worker-child.ts <config.json>`.
import { appendFileSync, readFileSync } from 'node:fs';
import { createActivities, availableStageKinds, loadStageImplementation } from '../../../activities';
import type { StageImplementation } from '../../../activities/types';
import type { StageKind } from '../../../lib/plan/types';
import { initBackend } from '../../../lib/ml/backend';
import { ArtifactStore } from '../../../lib/store';
import { connectWorker } from '../../../lib/temporal/connection';
import { createWorkers, runWorkers } from '../../../lib/temporal/workers';

export interface WorkerChildConfig {
  address: string;
  namespace?: string;
  storeRoot: string;
  queues: string[];
  /** Also serve pipeline workflows on this queue (null: activities only). */
  workflowQueue?: string | null;
  stepLog?: string;
  identity?: string;
  concurrency?: number;
}

/** Wraps a stage so each heartbeat is logged before it is sent. */
function logged(impl: StageImplementation, stepLog: string | undefined): StageImplementation {
  if (!stepLog) return impl;
  return (ctx) => impl({
    ...ctx,
    heartbeat: (d) => {
      appendFileSync(stepLog, `${JSON.stringify({ pid: process.pid, stage: ctx.stage.id, attempt: ctx.attempt, step: d.step, total: d.total, phase: d.phase, checkpoint: d.checkpoint })}\n`);
      ctx.heartbeat(d);
    },
  });
}

async function main(cfgFile: string): Promise<void> {
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as WorkerChildConfig;
  const stages: Partial<Record<StageKind, StageImplementation>> = {};
  for (const k of availableStageKinds()) stages[k] = logged(await loadStageImplementation(k), cfg.stepLog);
  const store = new ArtifactStore(cfg.storeRoot);
  const log = {
    info: () => {},
    warn: (m: string) => process.stderr.write(`WARN ${m}\n`),
    error: (m: string) => process.stderr.write(`ERROR ${m}\n`),
  };
  const activities = createActivities({ store, log, env: process.env, stages });
  const connection = await connectWorker({ address: cfg.address, namespace: cfg.namespace ?? 'default', external: true });
  const workers = await createWorkers({
    connection, namespace: cfg.namespace ?? 'default', activities, queues: cfg.queues,
    workflowQueue: cfg.workflowQueue ?? null, concurrency: cfg.concurrency ?? 1, identity: cfg.identity, shutdownGraceMs: 1000,
  });
  // Load the TF.js backend before polling, as a long-lived worker would have: kills then land in stages.
  await initBackend({ env: process.env });
  const h = runWorkers(workers);
  process.on('SIGTERM', () => h.shutdown());
  process.stdout.write(`READY ${process.pid}\n`);
  await h.done;
  await connection.close();
}

if (require.main === module) {
  main(process.argv[2]).catch((e: unknown) => {
    process.stderr.write(`worker-child failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
