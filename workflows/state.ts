// Pure scheduling decisions of the Plan interpreter, kept apart from Temporal calls so they are easy
// to read and test: which stages can start, which must be skipped, and the status summary.
import type { Plan, PlanStage } from '../lib/plan/types';
import type { PipelineState, StageState, StageStatus } from '../lib/temporal/status';

export type { PipelineState, PipelineStatus, StageState, StageStatus } from '../lib/temporal/status';

export const DONE_STATES: ReadonlySet<StageState> = new Set(['succeeded', 'reused']);
// A cancelled stage does not skip its dependents: they stay pending so `resume` continues them.
const BROKEN_STATES: ReadonlySet<StageState> = new Set(['failed', 'skipped']);
const CARRIED_STATES: ReadonlySet<StageState> = new Set([...DONE_STATES, ...BROKEN_STATES]);

export function initialStatuses(plan: Plan, carried: Record<string, StageStatus> = {}): Map<string, StageStatus> {
  const m = new Map<string, StageStatus>();
  for (const s of plan.stages) {
    const prev = carried[s.id];
    // Finished, failed and skipped stages carry over a continue-as-new (a failure is not retried by
    // draining); anything else starts again as pending.
    m.set(s.id, prev && CARRIED_STATES.has(prev.state) ? { ...prev } : { id: s.id, kind: s.kind, queue: s.queue, state: 'pending' });
  }
  return m;
}

/** Marks pending stages whose needs failed (transitively, in topological order) as skipped. */
export function skipBroken(plan: Plan, st: Map<string, StageStatus>, now: number): string[] {
  const skipped: string[] = [];
  for (const s of plan.stages) {
    const cur = st.get(s.id) as StageStatus;
    if (cur.state !== 'pending') continue;
    const bad = s.needs.filter((n) => BROKEN_STATES.has((st.get(n) as StageStatus).state));
    if (bad.length) {
      cur.state = 'skipped';
      cur.endedAt = now;
      cur.error = { message: `skipped: needs ${bad.map((b) => `'${b}' (${(st.get(b) as StageStatus).state})`).join(', ')}` };
      skipped.push(s.id);
    }
  }
  return skipped;
}

/** Pending stages whose needs are all done, in plan (topological) order, at most `slots` of them. */
export function readyStages(plan: Plan, st: Map<string, StageStatus>, slots: number): PlanStage[] {
  if (slots <= 0) return [];
  return plan.stages
    .filter((s) => (st.get(s.id) as StageStatus).state === 'pending' && s.needs.every((n) => DONE_STATES.has((st.get(n) as StageStatus).state)))
    .slice(0, slots);
}

export function overallState(st: Map<string, StageStatus>, cancelled: boolean): PipelineState {
  const all = [...st.values()];
  if (cancelled) return 'cancelled';
  if (all.some((s) => s.state === 'failed' || s.state === 'skipped')) return 'failed';
  if (all.every((s) => DONE_STATES.has(s.state))) return 'succeeded';
  return 'running';
}
