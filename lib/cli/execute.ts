// Starting and following one execution of a Plan — shared by `run` and `resume`: connect (starting
// the embedded server unless TEMPORAL_ADDRESS is set), start an in-process worker on the plan's
// queues unless told not to, start the workflow (a running run of that name is refused), write the
// run record, print the Web UI link, follow progress, print the summary. Exit 0 only on success.
import { spawnSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ClgrpoError } from '../errors';
import type { Plan } from '../plan/types';
import { defaultStageConcurrency } from '../stage/isolation';
import { readRun, startRunRecord } from '../store';
import { connectClient, workflowUrl } from '../temporal/connection';
import { PIPELINE_TASK_QUEUE } from '../temporal/names';
import { startPipeline, type LiveStatus } from '../temporal/pipeline-client';
import { consoleLog, shutdownOnSignals, type WorkerProcess } from '../temporal/worker-process';
import type { FlagDef } from './args';
import { endpointOf, reportError, type CliDeps, type Connected, type Ctx } from './common';
import { fromRecord } from './status';
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

/** The flags `run` and `resume` share (read back with executeFlags). */
export const EXECUTE_FLAGS: Record<string, FlagDef> = {
  detach: { type: 'boolean', description: 'start the run and return; workers elsewhere do the work' },
  'no-worker': { type: 'boolean', description: 'do not start a local worker (one runs elsewhere)' },
  concurrency: { type: 'string', value: 'N', description: 'stages the local worker runs at once per queue (default: cores, at most the plan\'s maxParallel; 1 with CLGRPO_STAGE_ISOLATION=inline)' },
  json: { type: 'boolean', description: 'print the final status as JSON (progress goes nowhere)' },
};

export function executeFlags(values: Record<string, unknown>): Pick<ExecuteOptions, 'detach' | 'noWorker' | 'json' | 'concurrency'> {
  return {
    detach: Boolean(values.detach), noWorker: Boolean(values['no-worker']), json: Boolean(values.json),
    concurrency: values.concurrency ? Number(values.concurrency) : undefined,
  };
}

/** Stages that run the Python trainer (or import an HF model for it). */
function usesPython(plan: Plan): boolean {
  return plan.stages.some((s) => s.kind === 'model' || s.params.trainer === 'trl');
}

/**
 * A local worker that will run `trainer: trl` stages needs the project's Python env (and the tiny
 * model fixture of pipelines/trl-tiny.yaml): installed on first use, with pip's progress on stderr
 * (stdout stays clean for --json), idempotent and quick once done.
 */
function ensurePythonEnv(): boolean {
  const script = resolve(__dirname, '..', '..', 'scripts', 'python-env.js');
  const r = spawnSync(process.execPath, [script], { stdio: ['ignore', 2, 2] });
  if (r.status === 0) return true;
  console.error('the Python env for trainer: trl stages is not ready (see above); `npm run setup:python` retries it, or run with --no-worker and a worker that has it');
  return false;
}

export async function execute(ctx: Ctx, deps: CliDeps, plan: Plan, o: ExecuteOptions): Promise<number> {
  if (!o.noWorker && !o.detach && usesPython(plan) && !ensurePythonEnv()) return 2;
  const endpoint = await endpointOf(ctx, true);
  if (!endpoint) return 2;
  const log = consoleLog('[worker]');
  const queues = [...new Set(plan.stages.map((s) => s.queue))];
  const say = o.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
  let worker: WorkerProcess | undefined;
  // The local worker is created while the client connects and the workflow starts (creating it is
  // the slowest part of a reused run: the native connection and the workflow sandbox's thread); the
  // run's first workflow task waits on the queue for it. A failed creation surfaces when it is awaited below.
  const starting = o.noWorker || o.detach ? undefined
    : deps.startWorker({ endpoint, env: ctx.env, queues, concurrency: o.concurrency ?? defaultStageConcurrency(ctx.env, plan.maxParallel), log, shutdownGraceMs: 30_000 });
  void starting?.catch(() => undefined); // handled where it is awaited
  let c: Connected | undefined;
  try {
    c = { endpoint, ...await connectClient(endpoint) };
    let handle: WorkflowHandle;
    let runId: string;
    try {
      const h = await startPipeline(c.client, plan, { workflowId: o.workflowId, taskQueue: PIPELINE_TASK_QUEUE, searchAttributes: !c.endpoint.external || ctx.env.CLGRPO_SEARCH_ATTRIBUTES !== '0' });
      handle = h;
      runId = h.firstExecutionRunId;
      startRunRecord(ctx.store, o.workflowId, plan, runId);
      say(`${o.verb === 'resume' ? 'resumed' : 'started'} run ${o.workflowId} (${plan.stages.length} stages, pipeline ${plan.name}, spec ${plan.specHash.slice(0, 12)})`);
    } catch (err) {
      // `resume` of a run that is still open (its CLI or worker died) attaches to it instead.
      if (o.verb !== 'resume' || !(err instanceof ClgrpoError && err.cause instanceof WorkflowExecutionAlreadyStartedError)) return reportError(o.verb, err);
      handle = c.client.workflow.getHandle(o.workflowId);
      runId = (await handle.describe()).runId;
      say(`run ${o.workflowId} is still open: attaching${o.noWorker || o.detach ? '' : ' a local worker'} and following it`);
    }
    const url = workflowUrl(c.endpoint, o.workflowId, runId);
    if (url) say(`Temporal Web UI: ${url}`);
    if (o.detach) {
      say(`detached: follow with 'clgrpo watch ${o.workflowId}'; a worker must serve queues ${[PIPELINE_TASK_QUEUE, ...queues].join(', ')} ('clgrpo worker --queues ${queues.join(',')}')`);
      return 0;
    }
    if (starting) {
      const w = (worker = await starting);
      shutdownOnSignals({ shutdown: () => { say(`stopping the local worker; the run stays open: 'clgrpo resume ${o.workflowId}' or start 'clgrpo worker'`); w.shutdown(); } }, log);
    }
    const final = await followUntilDone(c.client, handle, worker?.done, o.json, () => recordStatus(ctx, o.workflowId));
    return finish(ctx, final, o);
  } finally {
    // Also a worker still being created when the start was refused: stopped once it exists.
    const w = worker ?? await starting?.catch(() => undefined);
    if (w) {
      w.shutdown();
      await w.done;
    }
    await c?.connection.close();
  }
}

/** The run record as a status (closed runs whose query no worker can answer). */
export function recordStatus(ctx: Ctx, workflowId: string): LiveStatus | undefined {
  const rec = readRun(ctx.store, workflowId);
  return rec ? fromRecord(rec) : undefined;
}

async function followUntilDone(client: Client, handle: WorkflowHandle, workerDone: Promise<void> | undefined, quiet: boolean | undefined,
  fallback: () => LiveStatus | undefined): Promise<LiveStatus> {
  const ac = new AbortController();
  // When the in-process worker stops (Ctrl-C), stop following: nobody will make progress here.
  void workerDone?.then(() => ac.abort(), () => ac.abort());
  // The server tells us when the run closes (a long poll on its close event, following continue-as-new),
  // so a short run ends as soon as it closes instead of at the next poll (up to a second later).
  const stopWaiting = new AbortController();
  // The SDK adds an abort listener to this signal for every long poll of result() and never removes
  // it (@temporalio/client connection.js, callContextStorage): a run followed for hours collects
  // hundreds, all released with the signal when the wait ends. Without this Node warned of a leak
  // ("MaxListenersExceededWarning: 11 abort listeners") a few minutes into every long run.
  setMaxListeners(0, stopWaiting.signal);
  const closed = client.withAbortSignal(stopWaiting.signal, () => handle.result()).catch(() => undefined);
  try {
    return await follow(handle, { quiet, signal: ac.signal, fallback, closed });
  } finally {
    stopWaiting.abort();
  }
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
