// Effective stage keys: a plan's keys cover kind, params, seed, inputs and code, but not the bytes
// of user data, which only the worker that reads them can see. Stages with `readsData` are
// fingerprinted (activities/store.ts) before the reuse decision; this pure function folds those
// fingerprints into the key of each such stage and of everything downstream of it. A stage with no
// data upstream keeps its plan key, so synthetic pipelines and recorded histories are unchanged.
// Runs inside the workflow (hence canonical-json + the pure sha256, no node:crypto) and in `plan`.
import { canonicalJson } from '../canonical-json';
import { sha256HexPure } from '../sha256';
import type { Plan, PlanStage } from './types';

/** What fingerprinting a data-reading stage's files found (the activity's result). */
export interface DataFingerprint {
  /** sha256 over the sorted (path, size, sha256) of every file the stage reads. */
  fingerprint: string;
  files: number;
  bytes: number;
  /** Files whose content was hashed this time (the rest came from the stat cache). */
  hashed: number;
}

/** The data fingerprint of each data-reading stage, by plan stage id. */
export type Fingerprints = Readonly<Record<string, string | undefined>>;

/**
 * Effective keys of every stage whose data ancestors are all fingerprinted; a stage still waiting
 * for a fingerprint (its own or an upstream one) has none yet. Plan stages are in topological order.
 */
export function effectiveKeys(plan: Plan, fps: Fingerprints): Map<string, string> {
  const planKey = new Map(plan.stages.map((s) => [s.id, s.key]));
  const out = new Map<string, string>();
  for (const s of plan.stages) {
    const key = effectiveKeyOf(s, fps, out, planKey);
    if (key !== undefined) out.set(s.id, key);
  }
  return out;
}

function effectiveKeyOf(s: PlanStage, fps: Fingerprints, known: Map<string, string>, planKey: Map<string, string>): string | undefined {
  const own = s.readsData ? fps[s.id] : undefined;
  if (s.readsData && own === undefined) return undefined;
  const inputs: string[] = [];
  for (const b of s.inputs) {
    const k = known.get(b.from);
    if (k === undefined) return undefined;
    inputs.push(k);
  }
  // Without data anywhere upstream every input kept its plan key, and so does this stage.
  const touched = own !== undefined || s.inputs.some((b, i) => inputs[i] !== planKey.get(b.from));
  if (!touched) return s.key;
  return sha256HexPure(canonicalJson({ key: s.key, data: own ?? null, inputs }));
}

/** Data-reading stages whose output reaches `id` (itself included), through inputs, in plan order. */
export function dataAncestors(plan: Plan, id: string): string[] {
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const todo = [id];
  while (todo.length) {
    const cur = byId.get(todo.pop() as string);
    if (!cur || seen.has(cur.id)) continue;
    seen.add(cur.id);
    for (const b of cur.inputs) todo.push(b.from);
  }
  return plan.stages.filter((s) => s.readsData && seen.has(s.id)).map((s) => s.id);
}
