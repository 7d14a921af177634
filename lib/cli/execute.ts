// Starting and following one execution of a Plan — shared by `run` and `resume`: connect (starting
// the embedded server unless TEMPORAL_ADDRESS is set), start an in-process worker on the plan's
// queues unless told not to, start the workflow (a running run of that name is refused), write the
// run record, print the Web UI link, follow progress, print the summary. Exit 0 only on success.
import { consoleLog, shutdownOnSignals, startWorker } from '../../worker';
import type { Plan } from '../plan/types';
import { readRun, startRunRecord } from '../store';
import { workflowUrl } from '../temporal/connection';
import { liveStatus, startPipeline, type LiveStatus } from '../temporal/pipeline-client';
import { PIPELINE_TASK_QUEUE } from '../../workflows/names';
import { connect, reportError, type Ctx } from './common';
import { follow } from './follow';
import { summaryTable } from './progress';

export interface ExecuteOptions {
  workflowId: string;
  detach?: boolean;
  noWorker?: boolean;
  json?: boolean;
  concurrency?: number;
  /** 'run' or 'resume', for messages. */
  verb: string;
}

export async function execute(ctx: Ctx, plan: Plan, o: ExecuteOptions): Promise<number> {
  const c = await connect(ctx, true);
  if (!c) return 2;
  const log = consoleLog('[worker]');
  const queues = [...new Set(plan.stages.map((s) => s.queue))];
  const worker = o.noWorker || o.detach ? undefined : await startWorker({ endpoint: c.endpoint, env: ctx.env, queues, concurrency: o.concurrency ?? 1, log, shutdownGraceMs: 30_000 });
  const stopWorker = async (): Promise<void> => {
    if (!worker) return;
    worker.shutdown();
    await worker.done;
  };
  try {
    let handle;
    try {
      handle = await startPipeline(c.client, plan, { workflowId: o.workflowId, taskQueue: PIPELINE_TASK_QUEUE, searchAttributes: !c.endpoint.external || ctx.env.CLGRPO_SEARCH_ATTRIBUTES !== '0' });
    } catch (err) {
      return reportError(o.verb, err);
    }
    startRunRecord(ctx.store, o.workflowId, plan, handle.firstExecutionRunId);
    const url = workflowUrl(c.endpoint, o.workflowId, handle.firstExecutionRunId);
    const say = o.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
    say(`${o.verb === 'resume' ? 'resumed' : 'started'} run ${o.workflowId} (${plan.stages.length} stages, pipeline ${plan.name}, spec ${plan.specHash.slice(0, 12)})`);
    if (url) say(`Temporal Web UI: ${url}`);
    if (o.detach) {
      say(`detached: follow with 'clgrpo watch ${o.workflowId}'; a worker must serve queues ${[PIPELINE_TASK_QUEUE, ...queues].join(', ')} ('clgrpo worker --queues ${queues.join(',')}')`);
      return 0;
    }
    if (worker) shutdownOnSignals({ shutdown: () => { say(`stopping the local worker; the run stays open: 'clgrpo resume ${o.workflowId}' or start 'clgrpo worker'`); worker.shutdown(); } }, log);
    const final = await followUntilDone(handle, worker?.done, o.json);
    return finish(ctx, final, o);
  } finally {
    await stopWorker();
    await c.connection.close();
  }
}

async function followUntilDone(handle: Parameters<typeof liveStatus>[0], workerDone: Promise<void> | undefined, quiet?: boolean): Promise<LiveStatus> {
  const ac = new AbortController();
  // When the in-process worker stops (Ctrl-C), stop following: nobody will make progress here.
  void workerDone?.then(() => ac.abort(), () => ac.abort());
  return follow(handle, { quiet, signal: ac.signal });
}

export function finish(ctx: Ctx, final: LiveStatus, o: { json?: boolean; workflowId: string }): number {
  const rec = readRun(ctx.store, o.workflowId);
  if (o.json) console.log(JSON.stringify({ ...final, record: rec ? { status: rec.status } : undefined }, null, 2));
  else {
    console.log('');
    console.log(summaryTable(final));
    console.log(`\nrun ${o.workflowId}: ${final.execution === 'RUNNING' ? 'still running (not followed any more)' : final.state}`);
    if (final.state === 'succeeded') console.log(`lineage: clgrpo lineage ${o.workflowId}    verify: clgrpo verify ${o.workflowId}`);
    else if (final.execution !== 'RUNNING') console.log(`continue it with: clgrpo resume ${o.workflowId}`);
  }
  return final.state === 'succeeded' ? 0 : 1;
}
