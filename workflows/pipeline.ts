// The Plan interpreter: a deterministic workflow that runs each stage as an activity on the stage's
// task queue once all its `needs` succeeded, up to `plan.maxParallel` at once. Before running a stage
// it asks the store whether its stage key already has an artifact and reuses it. The store is asked
// by local activities on the workflow worker: once at the start for every pending stage's key, and
// per stage only for keys that depend on data fingerprints; so a reused stage costs no round trip
// through the server and a stage that runs only its own activity task.
// A failed stage skips its dependents while independent branches finish. Only artifact ids flow
// between stages. Any change to the commands this code issues must go through `patched()`.
import {
  ActivityCancellationType, ActivityFailure, ApplicationFailure, CancellationScope, TimeoutFailure, continueAsNew,
  defineQuery, isCancellation, patched, proxyActivities, proxyLocalActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import { effectiveKeys, type DataFingerprint } from '../lib/plan/effective-key';
import type { Plan, PlanStage } from '../lib/plan/types';
import { ACTIVITY_NAMES, type RunInfo, type StageActivityInput, type StageActivityResult } from '../lib/stage/types';
import type { PipelineInput, PipelineResult } from '../lib/temporal/status';
import {
  FINGERPRINT_ACTIVITY, HISTORY_EVENTS_LIMIT, LOOKUP_MANY_ACTIVITY, PATCH_DATA_FINGERPRINT, PATCH_DRAIN_KEEPS_BRANCHES, PATCH_LOCAL_STORE_ACTIVITIES,
  PIPELINE_FAILED, RECORD_RUN_ACTIVITY, STATUS_QUERY,
} from './names';
import { initialStatuses, overallState, readyStages, skipBroken, type PipelineStatus, type StageStatus } from './state';

export type { PipelineInput, PipelineResult } from '../lib/temporal/status';

export const statusQuery = defineQuery<PipelineStatus>(STATUS_QUERY);

type StageResult = StageActivityResult & { attempt?: number };
type StageFn = (input: StageActivityInput) => Promise<StageResult>;
type LookupFn = (input: { stageKey: string; stageId: string }) => Promise<StageActivityResult | null>;
type LookupManyFn = (input: { stageKeys: string[] }) => Promise<Record<string, StageActivityResult>>;
type RecordFn = (input: unknown) => Promise<void>;
type FingerprintFn = (input: { stageId: string; kind: string; params: PlanStage['params'] }) => Promise<DataFingerprint>;

/** Short store I/O (lookup, run record): quick timeout, bounded retries. */
const SHORT_IO = { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' } } as const;

type StoreFn = LookupFn & LookupManyFn & RecordFn;

/**
 * The store activities (stage-key lookups, run record), as local activities on the workflow worker
 * (`local`) or, in executions recorded before patch 'local-store-activities', as activities on the
 * workflow's own task queue. Either way they run in a process that polls the pipeline queue and so
 * shares its store.
 */
function storeActivities(local: boolean): { lookup: LookupFn; lookupMany: LookupManyFn; record: RecordFn } {
  const acts = local
    ? proxyLocalActivities<Record<string, StoreFn>>(SHORT_IO)
    : proxyActivities<Record<string, StoreFn>>({ ...SHORT_IO, taskQueue: workflowInfo().taskQueue });
  return { lookup: acts[ACTIVITY_NAMES.lookup], lookupMany: acts[LOOKUP_MANY_ACTIVITY], record: acts[RECORD_RUN_ACTIVITY] };
}

function stageActivity(s: PlanStage): StageFn {
  const acts = proxyActivities<Record<string, StageFn>>({
    taskQueue: s.queue,
    activityId: s.id,
    startToCloseTimeout: s.timeouts.startToCloseMs,
    heartbeatTimeout: s.timeouts.heartbeatMs,
    retry: {
      maximumAttempts: s.retry.maximumAttempts, initialInterval: s.retry.initialIntervalMs,
      backoffCoefficient: s.retry.backoffCoefficient, maximumInterval: s.retry.maximumIntervalMs,
    },
    // Cancellation waits for the activity to stop, so its last checkpoint is on disk when the run ends.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return acts[ACTIVITY_NAMES[s.kind]];
}

/** Fingerprinting runs where the stage will run (its queue), heartbeating while it hashes. */
function fingerprintActivity(s: PlanStage): FingerprintFn {
  const acts = proxyActivities<Record<string, FingerprintFn>>({
    taskQueue: s.queue,
    activityId: `${s.id}#fingerprint`,
    startToCloseTimeout: s.timeouts.startToCloseMs,
    heartbeatTimeout: '2 minutes',
    retry: {
      maximumAttempts: s.retry.maximumAttempts, initialInterval: s.retry.initialIntervalMs,
      backoffCoefficient: s.retry.backoffCoefficient, maximumInterval: s.retry.maximumIntervalMs,
    },
  });
  return acts[FINGERPRINT_ACTIVITY];
}

function describeError(err: unknown): { type?: string; message: string } {
  let e: unknown = err;
  if (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return { type: e.type ?? undefined, message: e.message };
  if (e instanceof TimeoutFailure) return { type: `Timeout:${e.timeoutType}`, message: e.message || 'activity timed out' };
  return { message: e instanceof Error ? e.message : String(e) };
}

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  const { plan } = input;
  const info = workflowInfo();
  const run: RunInfo = { runId: info.runId, workflowId: info.workflowId, pipeline: plan.name, specHash: plan.specHash, seed: plan.seed };
  const st = initialStatuses(plan, input.carried);
  const status = (): PipelineStatus => ({
    pipeline: plan.name, specHash: plan.specHash, state: overallState(st, cancelledBy !== undefined), maxParallel: plan.maxParallel,
    stages: plan.stages.map((s) => ({ ...(st.get(s.id) as StageStatus) })),
  });
  let cancelledBy: unknown;
  setHandler(statusQuery, status);

  // Plans without data-reading stages (and histories recorded before this step) issue no new commands.
  const fingerprinting = plan.stages.some((s) => s.readsData) && patched(PATCH_DATA_FINGERPRINT);
  // Decided once per execution: a history is either all remote store activities or all local ones.
  const local = patched(PATCH_LOCAL_STORE_ACTIVITIES);
  const store = storeActivities(local);
  // Local path: every pending stage's plan key is looked up once, here. A stage not found then runs its
  // activity directly, whose wrapper still returns an artifact published since (by another run); so
  // does every stage when this lookup fails.
  let known: Record<string, StageActivityResult> = {};
  if (local) {
    try {
      known = await store.lookupMany({ stageKeys: plan.stages.filter((s) => st.get(s.id)?.state === 'pending').map((s) => s.key) });
    } catch (err) {
      if (isCancellation(err)) cancelledBy = err;
      else if (!(err instanceof ActivityFailure)) throw err;
    }
  }

  /** The key a stage is looked up and published under: its plan key, or the one covering data fingerprints upstream. */
  function keyOf(s: PlanStage): string {
    if (!fingerprinting) return s.key;
    const fps = Object.fromEntries([...st.values()].filter((x) => x.data).map((x) => [x.id, x.data?.fingerprint]));
    const key = effectiveKeys(plan, fps).get(s.id);
    if (key === undefined) throw ApplicationFailure.nonRetryable(`no effective key for stage '${s.id}': a data fingerprint upstream is missing`, 'InternalError');
    return key;
  }

  async function runOne(s: PlanStage): Promise<void> {
    const cur = st.get(s.id) as StageStatus;
    cur.state = 'running';
    cur.startedAt = Date.now();
    try {
      // Data is fingerprinted before the reuse decision, on the worker that will read it.
      if (fingerprinting && s.readsData) cur.data = await fingerprintActivity(s)({ stageId: s.id, kind: s.kind, params: s.params });
      const key = keyOf(s);
      if (key !== s.key) cur.key = key;
      const found = local && key === s.key ? known[key] ?? null : await store.lookup({ stageKey: key, stageId: s.id });
      const res: StageResult = found ?? (await stageActivity(s)({
        run,
        stage: {
          id: s.id, kind: s.kind, key, params: s.params, seed: s.seed, matrix: s.matrix, code: s.keyParts.code,
          ...(key !== s.key ? { planKey: s.key } : {}), ...(cur.data ? { data: cur.data } : {}),
        },
        inputs: s.inputs.map((b) => ({ input: b.input, from: b.from, artifactId: (st.get(b.from) as StageStatus).artifactId as string })),
      }));
      Object.assign(cur, { state: res.reused ? 'reused' : 'succeeded', artifactId: res.artifactId, reused: res.reused, summary: res.summary });
      if (res.attempt !== undefined) cur.attempt = res.attempt;
    } catch (err) {
      if (isCancellation(err)) {
        cur.state = 'cancelled';
        cancelledBy ??= err;
      } else {
        cur.state = 'failed';
        cur.error = describeError(err);
      }
    }
    cur.endedAt = Date.now();
  }

  const running = new Map<string, Promise<void>>();
  let drainForContinue = false;
  for (;;) {
    skipBroken(plan, st, Date.now());
    const i = workflowInfo();
    drainForContinue ||= i.continueAsNewSuggested || i.historyLength > (input.historyLimit ?? HISTORY_EVENTS_LIMIT);
    const slots = cancelledBy !== undefined || drainForContinue ? 0 : plan.maxParallel - running.size;
    for (const s of readyStages(plan, st, slots)) {
      running.set(s.id, runOne(s).finally(() => running.delete(s.id)));
    }
    if (!running.size) break;
    await Promise.race(running.values());
  }

  const final = status();
  // Pending stages left after a drain are independent of any failure (skipBroken ran): they still
  // run, in the next execution, which carries the failed and skipped states so the run ends failed.
  const pendingLeft = final.stages.some((s) => s.state === 'pending');
  if (drainForContinue && cancelledBy === undefined && pendingLeft
      && (final.state === 'running' || (final.state === 'failed' && patched(PATCH_DRAIN_KEEPS_BRANCHES)))) {
    await continueAsNew<typeof pipeline>({ plan, historyLimit: input.historyLimit, carried: Object.fromEntries(final.stages.map((s) => [s.id, s])) });
  }
  await recordRun(store.record, final, run, plan);
  if (cancelledBy !== undefined) throw cancelledBy;
  if (final.state === 'failed') {
    const failed = final.stages.filter((s) => s.state === 'failed');
    throw ApplicationFailure.create({
      type: PIPELINE_FAILED, nonRetryable: true, details: [final],
      message: `pipeline '${plan.name}' failed: ${failed.map((s) => `${s.id} (${s.error?.type ?? 'error'}: ${s.error?.message ?? ''})`).join('; ')}`,
    });
  }
  return { status: final };
}

/** The run record is written even when the run was cancelled, hence the non-cancellable scope. */
async function recordRun(record: RecordFn, final: PipelineStatus, run: RunInfo, plan: Plan): Promise<void> {
  const stages = Object.fromEntries(final.stages.map((s) => [s.id, {
    state: s.state, artifactId: s.artifactId, reused: s.reused, attempt: s.attempt, error: s.error, summary: s.summary, key: s.key, data: s.data,
    startedAt: s.startedAt === undefined ? undefined : new Date(s.startedAt).toISOString(),
    endedAt: s.endedAt === undefined ? undefined : new Date(s.endedAt).toISOString(),
  }]));
  const statusName = final.state === 'running' ? 'failed' : final.state;
  try {
    await CancellationScope.nonCancellable(() => record({ workflowId: run.workflowId, runId: run.runId, status: statusName, stages, plan }));
  } catch (err) {
    // The record is a convenience copy of what Temporal already holds; never fail a run for it.
    if (!(err instanceof ActivityFailure)) throw err;
  }
}
