// The pre-registered comparisons of a run (pipelines/clgrpo-seeds.yaml, issue 13), derived from what
// the report already knows rather than declared in the spec: (a) every evaluated model against the
// label-SFT stage with the same number of optimizer updates from the same pretrained model, and
// (b, c) GRPO-family stages from the same start against their plain-clip sibling (compare.ts), which
// covers CLGRPO vs the plain-GRPO control and each cell of a clip.high sweep vs its 0.2 cell. Each
// comparison is paired by seed and summarized by bootstrap.ts.
import { pairedDeltas, type ResultRow, type ResultsTable } from './aggregate';
import { BOOTSTRAP_RESAMPLES, pairedStats, type PairedStats } from './bootstrap';
import { fairComparisons } from './compare';
import { points } from './format';
import type { ReportData, StageInfo } from './model';

/** Primary metric first; format rate is a sanity check, not a claim. */
export const STAT_METRICS = ['accuracy', 'macroRecall'] as const;
export type StatMetric = (typeof STAT_METRICS)[number];

export interface StatComparison {
  /** `matched-updates`: (a); `same-start`: (b) and (c). */
  family: 'matched-updates' | 'same-start';
  /** Row groups: the difference is a − b. */
  a: string;
  b: string;
  /** Why these two are compared, in words (the matched budget, the shared start). */
  basis: string;
  stats: Record<StatMetric, PairedStats>;
}

const key = (s: { runId: string; id: string }) => `${s.runId}/${s.id}`;

/** For each stage (`runId/stageId`), the stage its `model` input comes from, through the lineage. */
export function modelParents(data: ReportData): Map<string, string> {
  const node = new Map(data.lineage.nodes.map((n) => [n.id, n]));
  const id = (n: { id: string; runId?: string; stageId?: string }) => `${n.runId ?? data.runs[0]?.id}/${n.stageId ?? n.id}`;
  const out = new Map<string, string>();
  for (const e of data.lineage.edges) {
    const to = node.get(e.to);
    const from = node.get(e.from);
    if (to && from && e.input.split(', ').includes('model')) out.set(id(to), id(from));
  }
  return out;
}

/** Optimizer updates one stage makes: SFT steps, or GRPO steps × iterations (default 2). */
export function stageUpdates(s: StageInfo): number | undefined {
  const steps = s.params?.steps;
  if (typeof steps !== 'number') return undefined;
  if (s.kind === 'sft') return steps;
  if (s.kind === 'grpo') {
    const it = s.params?.iterations;
    return steps * (typeof it === 'number' ? it : 2);
  }
  return undefined;
}

/**
 * Updates since pretraining along the model chain, and the pretrain stage it starts from; undefined
 * when a stage on the way has no countable budget (an epochs-based SFT, a model with no lineage).
 */
export function updatesSincePretrain(data: ReportData, stageKey: string): { updates: number; origin: string } | undefined {
  const stages = new Map(data.stages.map((s) => [key(s), s]));
  const parents = modelParents(data);
  let total = 0;
  let cur = stageKey;
  for (let guard = 0; guard < 1000; guard++) {
    const s = stages.get(cur);
    if (!s) return undefined;
    if (s.kind === 'pretrain') return { updates: total, origin: cur };
    const u = stageUpdates(s);
    const parent = parents.get(cur);
    if (u === undefined || !parent) return undefined;
    total += u;
    cur = parent;
  }
  return undefined;
}

function isLabelSft(s: StageInfo | undefined): boolean {
  return s?.kind === 'sft' && s.params?.target === 'label';
}

function stats(a: ResultRow, b: ResultRow): Record<StatMetric, PairedStats> {
  return Object.fromEntries(STAT_METRICS.map((m) => [m, pairedStats(pairedDeltas(a, b, m).map((p) => p.delta), { scope: [a.group, b.group, m] })])) as Record<StatMetric, PairedStats>;
}

/** Budget of a row: every member must agree (same updates, same pretrain group), else none. */
function rowBudget(data: ReportData, row: ResultRow, stages: Map<string, StageInfo>): { updates: number; origin: string } | undefined {
  const bs = row.members.map((m) => updatesSincePretrain(data, m));
  if (bs.some((b) => !b) || bs.length === 0) return undefined;
  const origins = new Set(bs.map((b) => {
    const s = stages.get(b!.origin);
    return s ? s.baseId : b!.origin;
  }));
  return new Set(bs.map((b) => b!.updates)).size === 1 && origins.size === 1 ? { updates: bs[0]!.updates, origin: [...origins][0] } : undefined;
}

export function statComparisons(data: ReportData, table: ResultsTable): StatComparison[] {
  const stages = new Map(data.stages.map((s) => [key(s), s]));
  const budgets = new Map(table.rows.map((r) => [r.group, rowBudget(data, r, stages)]));
  const out: StatComparison[] = [];
  const labels = table.rows.filter((r) => isLabelSft(stages.get(r.members[0])));
  for (const r of table.rows) {
    if (labels.includes(r)) continue;
    const br = budgets.get(r.group);
    if (!br) continue;
    for (const l of labels) {
      const bl = budgets.get(l.group);
      if (!bl || bl.updates !== br.updates || bl.origin !== br.origin) continue;
      out.push({ family: 'matched-updates', a: r.group, b: l.group, basis: `${br.updates} optimizer updates each since ${br.origin}`, stats: stats(r, l) });
    }
  }
  for (const c of fairComparisons(data, table)) {
    const ref = table.rows.find((r) => r.group === c.reference)!;
    for (const fr of c.rows) {
      const row = table.rows.find((r) => r.group === fr.group)!;
      const steps = c.stepsEqual ? `${Object.values(c.steps)[0] ?? '?'} steps each` : `steps differ: ${fr.group} ${c.steps[fr.group] ?? '?'}, ${c.reference} ${c.steps[c.reference] ?? '?'}`;
      out.push({ family: 'same-start', a: fr.group, b: c.reference, basis: `same start (${c.parent}), ${steps}`, stats: stats(row, ref) });
    }
  }
  return out;
}

/** "+1.2 [−0.3, +2.8]": mean and interval in points, as both renderings print them. */
export function formatInterval(s: PairedStats): string {
  return s.n ? `${points(s.mean)} [${points(s.lo)}, ${points(s.hi)}]` : '–';
}

/** The verdict in words; an interval that contains 0 never reads as a win or a loss. */
export function verdict(s: PairedStats): string {
  if (s.n === 0) return 'no paired seeds';
  if (s.n === 1) return 'one seed: no interval';
  if (s.spansZero) return 'not distinguishable from 0';
  return s.mean > 0 ? 'higher (interval above 0)' : 'lower (interval below 0)';
}

export const STAT_METHOD = `paired difference per seed (A − B, points); mean; 95 % percentile bootstrap interval of the mean (${BOOTSTRAP_RESAMPLES.toLocaleString('en-US')} resamples of the seeds with replacement, seeded); k/n: seeds with a positive difference`;
