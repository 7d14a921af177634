// The report's arithmetic, kept pure: summaries over seeds (mean, sample std, min–max), grouping of
// concrete stages into rows (matrix cells and runs that differ only by seed share a row), the choice
// of the baseline (label SFT, CLGRPO.md "fair comparisons") and deltas against it in points.
import { canonicalJson } from '../canonical';
import type { EvalResults, ModelResult, ReportData, StageInfo } from './model';

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  std: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n: 0, mean: NaN, std: NaN, min: NaN, max: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { n, mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: Math.min(...xs), max: Math.max(...xs) };
}

/** Difference of means in percentage points (fractions in, points out). */
export function deltaPoints(value: Summary, baseline: Summary): number {
  return (value.mean - baseline.mean) * 100;
}

/**
 * Stages that differ only by seed are repeats of one experiment. The group is the base id plus the
 * matrix cell without its `seed` entry, so a `clip.high` sweep still gives one row per value.
 */
export function groupKeyOf(stage: Pick<StageInfo, 'baseId' | 'matrix'>): string {
  const cell = { ...(stage.matrix ?? {}) };
  delete cell.seed;
  const rest = Object.keys(cell).sort().map((k) => `${k}=${canonicalJson(cell[k])}`);
  return rest.length ? `${stage.baseId}[${rest.join(',')}]` : stage.baseId;
}

export const RESULT_METRICS = ['accuracy', 'macroRecall', 'formatRate'] as const;
export type ResultMetric = (typeof RESULT_METRICS)[number];

export interface ResultRow {
  group: string;
  baseId: string;
  kind: string;
  /** Concrete `runId/stageId` of each member, sorted. */
  members: string[];
  seeds: number[];
  metrics: Record<ResultMetric, Summary>;
  perClass: Record<string, Summary>;
  /** Confusion counts summed over members. */
  confusion: number[][];
  /** Points against the baseline row; absent on the baseline itself or when there is none. */
  delta?: Record<ResultMetric, number>;
  perClassDelta?: Record<string, number>;
  /** Seeds on which this row's accuracy beats the baseline's, out of the seeds both have. */
  wins?: { better: number; paired: number };
  /** Each member's metrics keyed by its seed (or its id when it has none), for paired comparisons. */
  bySeed: Record<string, Record<ResultMetric, number>>;
  isBaseline: boolean;
}

/** Differences in points of `a` minus `b` on each seed both rows have, in seed order. */
export function pairedDeltas(a: ResultRow, b: ResultRow, metric: ResultMetric): Array<{ seed: string; delta: number }> {
  return Object.keys(a.bySeed).filter((k) => k in b.bySeed)
    .sort((x, y) => Number(x) - Number(y) || x.localeCompare(y))
    .map((seed) => ({ seed, delta: (a.bySeed[seed][metric] - b.bySeed[seed][metric]) * 100 }));
}

export interface ResultsTable {
  split: string;
  labels: string[];
  rows: ResultRow[];
  baseline?: string;
  /** Why the baseline is what it is, or why there is none. */
  baselineNote: string;
}

function stageIndex(data: ReportData): Map<string, StageInfo> {
  return new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
}

/** Stages given in plan order; one model artifact evaluated twice counts once per split. */
function resultsBySplit(evals: EvalResults[]): Map<string, { labels: string[]; models: ModelResult[] }> {
  const out = new Map<string, { labels: string[]; models: ModelResult[]; seen: Set<string> }>();
  for (const ev of evals) {
    const entry = out.get(ev.split) ?? { labels: ev.labels, models: [], seen: new Set<string>() };
    for (const m of ev.models) {
      const k = `${m.runId}/${m.stageId}/${m.artifactId}`;
      if (!entry.seen.has(k)) { entry.seen.add(k); entry.models.push(m); }
    }
    out.set(ev.split, entry);
  }
  return out;
}

function sumMatrices(ms: number[][][]): number[][] {
  const first = ms[0] ?? [];
  return first.map((row, i) => row.map((_, j) => ms.reduce((a, m) => a + (m[i]?.[j] ?? 0), 0)));
}

function buildRow(group: string, members: ModelResult[], stages: Map<string, StageInfo>, labels: string[]): ResultRow {
  const infos = members.map((m) => stages.get(`${m.runId}/${m.stageId}`));
  const first = infos[0];
  const metrics = Object.fromEntries(RESULT_METRICS.map((k) => [k, summarize(members.map((m) => m[k]))])) as Record<ResultMetric, Summary>;
  const perClass = Object.fromEntries(labels.map((l) => [l, summarize(members.map((m) => m.perClassRecall[l] ?? NaN))]));
  const seeds = infos.map((s) => s?.seed).filter((s): s is number => typeof s === 'number');
  const bySeed = Object.fromEntries(members.map((m, i) => [String(infos[i]?.seed ?? `${m.runId}/${m.stageId}`),
    Object.fromEntries(RESULT_METRICS.map((k) => [k, m[k]])) as Record<ResultMetric, number>]));
  return {
    group, baseId: first?.baseId ?? members[0].stageId, kind: first?.kind ?? 'model',
    members: members.map((m) => `${m.runId}/${m.stageId}`).sort(), seeds: [...new Set(seeds)].sort((a, b) => a - b),
    metrics, perClass, confusion: sumMatrices(members.map((m) => m.confusion)), bySeed, isBaseline: false,
  };
}

/** Label SFT is the baseline; an explicit choice wins and may name a group, a base id or a stage. */
export function chooseBaseline(rows: ResultRow[], stages: Map<string, StageInfo>, explicit?: string): { group?: string; note: string } {
  if (explicit) {
    const hit = rows.find((r) => r.group === explicit || r.baseId === explicit || r.members.some((m) => m.endsWith(`/${explicit}`)));
    return hit ? { group: hit.group, note: `Baseline: ${hit.group}, chosen with --baseline ${explicit}` }
      : { note: `--baseline ${explicit} names no evaluated stage (have: ${rows.map((r) => r.group).join(', ')})` };
  }
  const label = rows.filter((r) => r.members.some((m) => {
    const s = stages.get(m);
    return s?.kind === 'sft' && s.params?.target === 'label';
  }));
  if (label.length === 0) return { note: 'No label-SFT stage was evaluated: no baseline, no deltas (use --baseline <stage>)' };
  const extra = label.length > 1 ? ` (also label SFT: ${label.slice(1).map((r) => r.group).join(', ')})` : '';
  return { group: label[0].group, note: `Baseline: ${label[0].group}, the label-SFT stage${extra}` };
}

export function buildResultsTables(data: ReportData, explicitBaseline?: string): ResultsTable[] {
  const stages = stageIndex(data);
  const order = new Map(data.stages.map((s, i) => [`${s.runId}/${s.id}`, i]));
  const tables: ResultsTable[] = [];
  for (const [split, { labels, models }] of resultsBySplit(data.evals)) {
    const groups = new Map<string, ModelResult[]>();
    const sorted = [...models].sort((a, b) => (order.get(`${a.runId}/${a.stageId}`) ?? 1e9) - (order.get(`${b.runId}/${b.stageId}`) ?? 1e9));
    for (const m of sorted) {
      const s = stages.get(`${m.runId}/${m.stageId}`);
      const key = s ? groupKeyOf(s) : m.stageId;
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    const rows = [...groups].map(([g, ms]) => buildRow(g, ms, stages, labels));
    const { group, note } = chooseBaseline(rows, stages, explicitBaseline);
    const base = rows.find((r) => r.group === group);
    for (const r of rows) {
      r.isBaseline = r === base;
      if (!base || r === base) continue;
      r.delta = Object.fromEntries(RESULT_METRICS.map((k) => [k, deltaPoints(r.metrics[k], base.metrics[k])])) as Record<ResultMetric, number>;
      r.perClassDelta = Object.fromEntries(labels.map((l) => [l, deltaPoints(r.perClass[l], base.perClass[l])]));
      const paired = pairedDeltas(r, base, 'accuracy');
      r.wins = { better: paired.filter((p) => p.delta > 0).length, paired: paired.length };
    }
    // The baseline leads the table: every other row is read against it.
    const ordered = base ? [base, ...rows.filter((r) => r !== base)] : rows;
    tables.push({ split, labels, rows: ordered, baseline: base?.group, baselineNote: note });
  }
  return tables.sort((a, b) => (a.split === 'test' ? -1 : b.split === 'test' ? 1 : a.split.localeCompare(b.split)));
}

/** Row-normalized matrix (each true label's row sums to 1); empty rows stay 0. */
export function rowNormalize(m: number[][]): number[][] {
  return m.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s > 0 ? v / s : 0));
  });
}
