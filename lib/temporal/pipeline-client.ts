// Client side of a pipeline run: the run name (workflow id), starting a run with a clear refusal
// when one of that name is running, and the live status of a run = the workflow's `status` query
// plus what only the server knows about running activities (attempt, last heartbeat details).
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ClgrpoError, ErrorType } from '../errors';
import type { Plan } from '../plan/types';
import type { ProgressDetails } from '../../activities/types';
import { PIPELINE_TASK_QUEUE, PIPELINE_WORKFLOW, STATUS_QUERY, SEARCH_ATTRIBUTES } from '../../workflows/names';
import type { PipelineInput, PipelineResult } from '../../workflows/pipeline';
import type { PipelineStatus, StageStatus } from '../../workflows/state';
import { PIPELINE_KEY, SPEC_HASH_KEY } from './connection';

/** `<pipeline>-<specHash8>-<yyyymmddHHMMss>` (UTC), restricted to characters safe in ids and file names. */
export function defaultRunName(plan: Plan, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${safeName(plan.name)}-${plan.specHash.slice(0, 8)}-${ts}`;
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
  /**
   * Refuse while another execution of the same spec hash is running (FAULTS 21: a spec submitted
   * twice makes one execution). `run` without `--name` sets it: default names differ every second.
   */
  refuseSameSpec?: boolean;
}

/** Workflow ids of running pipeline executions of `specHash` (by search attribute, else by memo). */
export async function runningOfSpec(client: Client, specHash: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const w of client.workflow.list({ query: `${SEARCH_ATTRIBUTES.specHash} = "${specHash}" AND ExecutionStatus = "Running"` })) ids.push(w.workflowId);
    return ids;
  } catch {
    // A cluster without the search attribute: list running pipelines and read their memo.
    for await (const w of client.workflow.list({ query: `WorkflowType = "${PIPELINE_WORKFLOW}" AND ExecutionStatus = "Running"` })) {
      if (w.memo?.specHash === specHash) ids.push(w.workflowId);
    }
    return ids;
  }
}

export async function startPipeline(client: Client, plan: Plan, o: StartOptions): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const input: PipelineInput = o.historyLimit === undefined ? { plan } : { plan, historyLimit: o.historyLimit };
  if (o.refuseSameSpec) {
    const running = (await runningOfSpec(client, plan.specHash)).filter((id) => id !== o.workflowId);
    if (running.length) {
      throw new ClgrpoError(ErrorType.Config, `a run of this spec (${plan.specHash.slice(0, 12)}) is already running: '${running[0]}'. Follow it with ` +
        `'clgrpo watch ${running[0]}', stop it with 'clgrpo cancel ${running[0]}', or start another run of it with --name <other>`);
    }
  }
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
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ClgrpoError(ErrorType.Config, `a run named '${o.workflowId}' is already running: follow it with 'clgrpo watch ${o.workflowId}', ` +
        `stop it with 'clgrpo cancel ${o.workflowId}', or start another with --name <other>`, { cause: err });
    }
    throw err;
  }
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
