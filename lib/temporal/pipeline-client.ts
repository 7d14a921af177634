// Client side of a pipeline run: the run name (workflow id), starting a run with a clear refusal
// when one of that name is running, and the live status of a run = the workflow's `status` query
// plus what only the server knows about running activities (attempt, last heartbeat details).
// One execution per spec rests on Temporal's own guarantee, not on a (eventually consistent)
// visibility query: the default run name is derived from the spec hash, and the server never runs
// two executions of one workflow id (conflict policy FAIL), while a closed one may start again.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ClgrpoError, ErrorType } from '../errors';
import type { Plan } from '../plan/types';
import type { ProgressDetails } from '../stage/types';
import { PIPELINE_TASK_QUEUE, PIPELINE_WORKFLOW, STATUS_QUERY } from './names';
import type { PipelineInput, PipelineResult, PipelineStatus, StageStatus } from './status';
import { PIPELINE_KEY, SPEC_HASH_KEY } from './connection';

/**
 * `<pipeline>-<specHash12>`, restricted to characters safe in ids and file names. The same spec (with
 * the same overrides) always gets the same name, so two starts of it race on one workflow id and the
 * server lets exactly one run; a later run of a finished spec is a new execution of that name (the
 * run record lists every execution).
 */
export function defaultRunName(plan: Plan): string {
  return `${safeName(plan.name)}-${plan.specHash.slice(0, 12)}`;
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 120).replace(/[^A-Za-z0-9]+$/, '') || 'run';
}

export interface StartOptions {
  workflowId: string;
  taskQueue?: string;
  /** Set the ClgrpoPipeline/ClgrpoSpecHash search attributes (off for clusters that lack them). */
  searchAttributes?: boolean;
  /** Override of the continue-as-new threshold (tests). */
  historyLimit?: number;
}

/**
 * Starts the pipeline workflow under `o.workflowId`. While an execution of that id is running the
 * server refuses (atomically, however close the two starts are) and this throws a ConfigError whose
 * cause is the WorkflowExecutionAlreadyStartedError; any other failure is passed on unchanged.
 */
export async function startPipeline(client: Client, plan: Plan, o: StartOptions): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const input: PipelineInput = o.historyLimit === undefined ? { plan } : { plan, historyLimit: o.historyLimit };
  try {
    return await client.workflow.start(PIPELINE_WORKFLOW, {
      taskQueue: o.taskQueue ?? PIPELINE_TASK_QUEUE,
      workflowId: o.workflowId,
      args: [input],
      // A running id is refused; a closed one may be started again (that is what `resume` does).
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      // An in-process worker busy in a synchronous training step delays workflow tasks; a timed-out
      // task is only retried, but a longer limit avoids the churn.
      workflowTaskTimeout: '1 minute',
      typedSearchAttributes: o.searchAttributes === false ? undefined : [
        { key: PIPELINE_KEY, value: plan.name }, { key: SPEC_HASH_KEY, value: plan.specHash },
      ],
      memo: { pipeline: plan.name, specHash: plan.specHash },
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw alreadyRunning(plan, o.workflowId, err);
    throw err;
  }
}

function alreadyRunning(plan: Plan, id: string, cause: WorkflowExecutionAlreadyStartedError): ClgrpoError {
  const what = id === defaultRunName(plan) ? `a run of this spec (${plan.specHash.slice(0, 12)}) is already running as '${id}'` : `a run named '${id}' is already running`;
  return new ClgrpoError(ErrorType.Config, `${what}: follow it with 'clgrpo watch ${id}', attach a local worker to it with 'clgrpo resume ${id}', ` +
    `stop it with 'clgrpo cancel ${id}', or start a separate run with --name <other>`, { cause });
}

export interface LiveStage extends StageStatus {
  progress?: ProgressDetails;
  lastHeartbeatAt?: number;
  lastFailure?: string;
}

export interface LiveStatus extends Omit<PipelineStatus, 'stages'> {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT... */
  execution: string;
  stages: LiveStage[];
}

function decodeDetails(payloads: Payload[] | null | undefined): ProgressDetails | undefined {
  if (!payloads?.length) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<ProgressDetails>(payloads[0]);
  } catch {
    return undefined;
  }
}

function tsMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!t || t.seconds == null) return undefined;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/**
 * The status query answers from the workflow's own state (needs a worker on the workflow queue);
 * describe() adds the attempt and heartbeat details of the stage activities in flight (activity id =
 * stage id), which only the server sees. For a closed run the workflow result is used instead.
 */
export async function liveStatus(handle: WorkflowHandle, queryTimeoutMs = 10_000): Promise<LiveStatus> {
  const d = await handle.describe();
  let status: PipelineStatus | undefined;
  if (d.status.name === 'COMPLETED') status = ((await handle.result()) as PipelineResult).status;
  else if (d.status.name === 'FAILED') status = await failedStatus(handle);
  // Running (or cancelled) runs answer the query; that needs a worker on the pipeline queue.
  status ??= await withTimeout(handle.query<PipelineStatus>(STATUS_QUERY), queryTimeoutMs, 'status query (is a worker polling the pipeline queue?)');
  const pending = new Map((d.raw.pendingActivities ?? []).map((p) => [p.activityId ?? '', p]));
  const stages: LiveStage[] = status.stages.map((s) => {
    const p = pending.get(s.id);
    if (!p || s.state !== 'running') return s;
    return {
      ...s, attempt: p.attempt ?? s.attempt, progress: decodeDetails(p.heartbeatDetails?.payloads as Payload[] | undefined),
      lastHeartbeatAt: tsMs(p.lastHeartbeatTime), lastFailure: p.lastFailure?.message ?? undefined,
    };
  });
  return { ...status, workflowId: handle.workflowId, runId: d.runId, execution: d.status.name, stages };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms); }),
  ]);
}

/** A failed pipeline carries its final status as the failure's details (see workflows/pipeline.ts). */
async function failedStatus(handle: WorkflowHandle): Promise<PipelineStatus | undefined> {
  try {
    await handle.result();
  } catch (err) {
    const details = (err as { cause?: { details?: unknown[] } }).cause?.details;
    const st = details?.[0] as PipelineStatus | undefined;
    if (st && Array.isArray(st.stages)) return st;
  }
  return undefined;
}
