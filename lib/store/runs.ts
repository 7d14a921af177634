// Run records under runs/<workflowId>.json: the plan a run executes (so `resume` can start it
// again), its Temporal executions, and per stage the final state, artifact and whether it was
// reused. Written by the CLI at start and by the workflow's final `recordRunResult` activity.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../plan/types';
import type { StageState, StageStatus } from '../temporal/status';
import { checkRelative, confine } from './paths';
import { writeFileDurable, type ArtifactStore } from './store';

export type { StageState };
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'unknown';

/**
 * A stage in the run record: the workflow's StageStatus as written at the end of an execution, with
 * times as ISO strings instead of workflow milliseconds (id, kind and queue are in the plan).
 */
export type StageRecord = Omit<StageStatus, 'id' | 'kind' | 'queue' | 'startedAt' | 'endedAt'> & {
  startedAt?: string;
  endedAt?: string;
};

export interface RunExecution {
  runId: string;
  startedAt: string;
  endedAt?: string;
  status?: RunStatus;
}

export interface RunRecord {
  recordVersion: 1;
  workflowId: string;
  pipeline: string;
  specHash: string;
  plan: Plan;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  executions: RunExecution[];
  stages: Record<string, StageRecord>;
}

function recordPath(store: ArtifactStore, workflowId: string): string {
  checkRelative(workflowId, 'run name');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(workflowId)) {
    throw new Error(`run name '${workflowId}' may only hold letters, digits, '.', '_' and '-'`);
  }
  return confine(store.root, `runs/${workflowId}.json`, 'run name');
}

export function readRun(store: ArtifactStore, workflowId: string): RunRecord | undefined {
  const p = recordPath(store, workflowId);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RunRecord) : undefined;
}

export function writeRun(store: ArtifactStore, rec: RunRecord): void {
  writeFileDurable(recordPath(store, rec.workflowId), `${JSON.stringify(rec, null, 2)}\n`);
}

/** Creates the record, or adds an execution to an existing one (resume keeps the same record). */
export function startRunRecord(store: ArtifactStore, workflowId: string, plan: Plan, runId: string, now = new Date()): RunRecord {
  const prev = readRun(store, workflowId);
  const at = now.toISOString();
  const rec: RunRecord = prev ?? {
    recordVersion: 1, workflowId, pipeline: plan.name, specHash: plan.specHash, plan,
    createdAt: at, updatedAt: at, status: 'running', executions: [], stages: {},
  };
  rec.plan = plan;
  rec.status = 'running';
  rec.updatedAt = at;
  rec.executions.push({ runId, startedAt: at });
  writeRun(store, rec);
  return rec;
}

/** Merges the final (or latest) stage states of one execution into the record. */
export function finishRunRecord(
  store: ArtifactStore, workflowId: string, runId: string, status: RunStatus,
  stages: Record<string, StageRecord>, plan?: Plan, now = new Date(),
): RunRecord {
  const at = now.toISOString();
  const rec = readRun(store, workflowId) ?? (plan ? startRunRecord(store, workflowId, plan, runId, now) : undefined);
  if (!rec) throw new Error(`no run record for '${workflowId}' and no plan to create one`);
  const exec = rec.executions.find((e) => e.runId === runId) ?? rec.executions[rec.executions.push({ runId, startedAt: at }) - 1];
  exec.endedAt = at;
  exec.status = status;
  for (const [id, s] of Object.entries(stages)) {
    // A stage that finished in an earlier execution keeps its artifact when this one only reused it.
    rec.stages[id] = { ...rec.stages[id], ...s };
  }
  rec.status = status;
  rec.updatedAt = at;
  writeRun(store, rec);
  return rec;
}

export function listRuns(store: ArtifactStore): RunRecord[] {
  const dir = join(store.root, 'runs');
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as RunRecord)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}
