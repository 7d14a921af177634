// The fair comparisons of CLGRPO.md: GRPO-family stages that start from the same model (siblings
// in the lineage — CLGRPO beside "stage 3 continued with plain GRPO") compared against the plain-clip
// sibling, seed by seed, with a check that their step budgets match.
import { groupKeyOf, pairedDeltas, RESULT_METRICS, type ResultMetric, type ResultsTable } from './aggregate';
import type { ReportData, StageInfo } from './model';

/** For each GRPO stage (`runId/stageId`), the group of the stage its `model` input comes from. */
export function grpoParents(data: ReportData): Map<string, string> {
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  const node = new Map(data.lineage.nodes.map((n) => [n.id, n]));
  const key = (n: { id: string; runId?: string; stageId?: string }) => `${n.runId ?? data.runs[0]?.id}/${n.stageId ?? n.id}`;
  const out = new Map<string, string>();
  for (const e of data.lineage.edges) {
    const to = node.get(e.to);
    const from = node.get(e.from);
    if (!to || !from || to.kind !== 'grpo' || !e.input.split(', ').includes('model')) continue;
    const parent = stages.get(key(from));
    out.set(key(to), parent ? groupKeyOf(parent) : from.stageId ?? from.id);
  }
  return out;
}

export interface FairRow {
  group: string;
  /** Points, difference of means against the reference. */
  delta: Record<ResultMetric, number>;
  /** Accuracy difference in points on each seed both have. */
  paired: Array<{ seed: string; delta: number }>;
}

export interface FairComparison {
  parent: string;
  /** The sibling the others are read against: plain clip bounds (low = high) when there is one. */
  reference: string;
  rows: FairRow[];
  steps: Record<string, number | undefined>;
  stepsEqual: boolean;
}

function isPlainClip(s: StageInfo | undefined): boolean {
  const c = s?.params?.clip;
  return !!c && typeof c === 'object' && !Array.isArray(c) && c.low === c.high;
}

export function fairComparisons(data: ReportData, table: ResultsTable): FairComparison[] {
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  const parents = grpoParents(data);
  const families = new Map<string, string[]>();
  for (const row of table.rows) {
    const parent = parents.get(row.members[0]);
    if (parent && row.kind === 'grpo') families.set(parent, [...(families.get(parent) ?? []), row.group]);
  }
  const out: FairComparison[] = [];
  for (const [parent, groups] of families) {
    if (groups.length < 2) continue;
    const rows = groups.map((g) => table.rows.find((r) => r.group === g)!);
    const ref = rows.find((r) => isPlainClip(stages.get(r.members[0]))) ?? rows[0];
    const steps = Object.fromEntries(rows.map((r) => {
      const p = stages.get(r.members[0])?.params?.steps;
      return [r.group, typeof p === 'number' ? p : undefined];
    }));
    out.push({
      parent, reference: ref.group, steps, stepsEqual: new Set(Object.values(steps)).size === 1,
      rows: rows.filter((r) => r !== ref).map((r) => ({
        group: r.group,
        delta: Object.fromEntries(RESULT_METRICS.map((k) => [k, (r.metrics[k].mean - ref.metrics[k].mean) * 100])) as Record<ResultMetric, number>,
        paired: pairedDeltas(r, ref, 'accuracy'),
      })),
    });
  }
  return out;
}
