// Gathers ReportData for one or more runs from the store: the run record (runs/<workflowId>.json,
// lib/store/runs.ts) gives the plan and each stage's artifact; the artifacts give the eval
// report.json, each trainer's training.json and the cot report.json (docs/CONTRACTS.md). A file
// that is missing or malformed becomes a warning in the report, never a silent gap or a crash.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClgrpoError, ErrorType } from '../errors';
import { readRun, type ArtifactStore, type RunRecord } from '../store';
import type { CotStats, EvalResults, LineageGraph, ModelResult, ReportData, RunSummary, Series, StageInfo, TrainingCurves } from './model';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

function seconds(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

export function runSummary(rec: RunRecord): RunSummary {
  const ex = rec.executions ?? [];
  const walls = ex.map((e) => seconds(e.startedAt, e.endedAt)).filter((s): s is number => s !== undefined);
  // Summed over executions: a resumed run's idle gap between executions is not work. A record
  // written only at the end has no real execution span; then the stages' own span stands in.
  const execWall = walls.reduce((a, b) => a + b, 0);
  const st = Object.values(rec.stages ?? {});
  const first = st.map((s) => s.startedAt).filter((t): t is string => Boolean(t)).sort()[0];
  const last = st.map((s) => s.endedAt).filter((t): t is string => Boolean(t)).sort().pop();
  return {
    id: rec.workflowId, pipeline: rec.pipeline, status: rec.status, specHash: rec.specHash, seed: rec.plan?.seed,
    startedAt: ex[0]?.startedAt ?? rec.createdAt, finishedAt: ex[ex.length - 1]?.endedAt,
    wallSeconds: execWall > 0 ? execWall : seconds(first, last),
  };
}

export function stageInfos(rec: RunRecord): StageInfo[] {
  return rec.plan.stages.map((s) => {
    const r = rec.stages?.[s.id];
    return {
      id: s.id, baseId: s.baseId, kind: s.kind, runId: rec.workflowId, seed: s.seed, matrix: s.matrix, params: s.params,
      artifactId: r?.artifactId, artifactKind: s.output, reused: r?.reused || r?.state === 'reused' || undefined,
      status: r?.state ?? 'pending', wallSeconds: seconds(r?.startedAt, r?.endedAt),
    };
  });
}

/** The plan's bindings as a graph: complete even for stages that failed or never ran. */
export function planLineage(recs: RunRecord[]): LineageGraph {
  const multi = recs.length > 1;
  const g: LineageGraph = { nodes: [], edges: [] };
  for (const rec of recs) {
    const nid = (id: string) => (multi ? `${rec.workflowId}/${id}` : id);
    for (const s of rec.plan.stages) {
      const r = rec.stages?.[s.id];
      g.nodes.push({ id: nid(s.id), label: multi ? nid(s.id) : s.id, kind: s.kind, artifactKind: s.output, artifactId: r?.artifactId, reused: r?.reused || r?.state === 'reused' || undefined, runId: rec.workflowId, stageId: s.id });
      const seen = new Map<string, string[]>();
      for (const b of s.inputs) seen.set(b.from, [...(seen.get(b.from) ?? []), b.input]);
      for (const [from, inputs] of seen) g.edges.push({ from: nid(from), to: nid(s.id), input: [...new Set(inputs)].join(', ') });
    }
  }
  return g;
}

function readJson(store: ArtifactStore, artifactId: string, file: string, warn: (m: string) => void): unknown {
  let dir: string;
  try {
    dir = store.artifactDir(artifactId);
  } catch (e) {
    warn(`artifact id '${artifactId}': ${(e as Error).message}`);
    return undefined;
  }
  const p = join(dir, file);
  if (!existsSync(p)) { warn(`artifact ${artifactId.slice(0, 12)} has no ${file} (${p})`); return undefined; }
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    warn(`${p} is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
}

function toSeries(v: unknown): Series {
  if (!Array.isArray(v)) return [];
  return v.filter((p): p is [number, number] => Array.isArray(p) && p.length >= 2).map((p) => [num(p[0]), num(p[1])]);
}

export function parseTraining(j: unknown, stage: StageInfo): TrainingCurves | undefined {
  if (!isObj(j) || !isObj(j.curves)) return undefined;
  const curves = Object.fromEntries(Object.entries(j.curves).map(([k, v]) => [k, toSeries(v)]));
  return { stageId: stage.id, runId: stage.runId, kind: typeof j.kind === 'string' ? j.kind : stage.kind, steps: num(j.steps), curves };
}

export function parseEval(j: unknown, stage: StageInfo, stages: StageInfo[]): EvalResults | undefined {
  if (!isObj(j) || !Array.isArray(j.models) || !Array.isArray(j.labels)) return undefined;
  const models: ModelResult[] = j.models.filter(isObj).map((m) => {
    const artifactId = String(m.artifactId ?? '');
    // The model's stage in this run: by artifact first (a reused eval may name another run's stage).
    const own = stages.find((s) => s.runId === stage.runId && s.artifactId === artifactId) ?? stages.find((s) => s.runId === stage.runId && s.id === m.name);
    return {
      stageId: own?.id ?? String(m.name), runId: stage.runId, artifactId, n: num(m.n), accuracy: num(m.accuracy),
      macroRecall: num(m.macroRecall), formatRate: num(m.formatRate),
      perClassRecall: isObj(m.perClassRecall) ? Object.fromEntries(Object.entries(m.perClassRecall).map(([k, v]) => [k, num(v)])) : {},
      confusion: Array.isArray(m.confusion) ? m.confusion.map((r) => (Array.isArray(r) ? r.map(num) : [])) : [],
    };
  });
  return { stageId: stage.id, runId: stage.runId, split: typeof j.split === 'string' ? j.split : '?', labels: j.labels.map(String), models };
}

export function parseCot(j: unknown, stage: StageInfo): CotStats | undefined {
  if (!isObj(j) || !isObj(j.perClass) || !isObj(j.perTeacher)) return undefined;
  const rec = <T>(o: Obj, f: (v: Obj) => T): Record<string, T> => Object.fromEntries(Object.entries(o).filter(([, v]) => isObj(v)).map(([k, v]) => [k, f(v as Obj)]));
  const pairs = isObj(j.agreement) && Array.isArray(j.agreement.pairs) ? j.agreement.pairs.filter(isObj).map((p) => ({ a: String(p.a), b: String(p.b), agree: num(p.agree), total: num(p.total) })) : [];
  return {
    stageId: stage.id, runId: stage.runId, asked: num(j.asked), kept: num(j.kept), keepRate: num(j.keepRate), malformed: num(j.malformed),
    perClass: rec(j.perClass, (v) => ({ asked: num(v.asked), kept: num(v.kept), keepRate: num(v.keepRate) })),
    perTeacher: rec(j.perTeacher, (v) => ({ asked: num(v.asked), verified: num(v.verified), malformed: num(v.malformed), keepRate: num(v.keepRate) })),
    agreement: { pairs },
  };
}

/** Same threshold as both GRPO trainers' `zero-advantage` warning (lib/ml/grpo/trainer.ts, trainers/trl). */
export const ZERO_ADVANTAGE_STREAK = 3;

/**
 * A GRPO stage whose groups all had equal rewards for several steps in a row changed nothing in those
 * steps: said in the report's warnings (the no-op must not be silent), from its training curve.
 */
export function zeroAdvantageWarning(tc: TrainingCurves, label: string): string | undefined {
  const series = tc.curves.zeroAdvantageFrac ?? [];
  let run = 0;
  let longest = 0;
  let flat = 0;
  for (const [, v] of series) {
    run = v >= 1 ? run + 1 : 0;
    if (v >= 1) flat++;
    longest = Math.max(longest, run);
  }
  if (longest < ZERO_ADVANTAGE_STREAK) return undefined;
  return `${label}: zero advantage in ${flat} of ${series.length} steps (longest run ${longest}): every group had equal rewards, so those steps did not move the weights; train the SFT stage longer or raise temperature / groupSize`;
}

/** Reads the run records and every report input their artifacts hold. */
export function collectReport(store: ArtifactStore, runNames: string[], now = new Date()): ReportData {
  const recs = runNames.map((name) => {
    const rec = readRun(store, name);
    if (!rec) {
      throw new ClgrpoError(ErrorType.Config, `no run record '${name}' under ${join(store.root, 'runs')}: check the name with \`clgrpo runs\` and CLGRPO_HOME`);
    }
    return rec;
  });
  const data: ReportData = { runs: recs.map(runSummary), stages: recs.flatMap(stageInfos), evals: [], curves: [], cot: [], lineage: planLineage(recs), generatedAt: now.toISOString(), warnings: [] };
  const warn = (m: string) => data.warnings.push(m);
  for (const s of data.stages) {
    if (!s.artifactId) {
      if (s.kind === 'eval' || s.kind === 'cot') warn(`${s.runId}/${s.id} has no artifact (state ${s.status}): its results are missing from this report`);
      continue;
    }
    const label = `${s.runId}/${s.id}`;
    if (s.kind === 'eval') {
      const ev = parseEval(readJson(store, s.artifactId, 'report.json', warn), s, data.stages);
      if (ev) data.evals.push(ev); else warn(`${label}: report.json lacks labels/models`);
    } else if (s.kind === 'cot') {
      const c = parseCot(readJson(store, s.artifactId, 'report.json', warn), s);
      if (c) data.cot.push(c); else warn(`${label}: cot report.json lacks perClass/perTeacher`);
    } else if (s.kind === 'pretrain' || s.kind === 'sft' || s.kind === 'grpo') {
      // A pretrain stage that imports a checkpoint (`init`) trains nothing and has no curves.
      if (s.kind === 'pretrain' && s.params?.init) continue;
      const tc = parseTraining(readJson(store, s.artifactId, 'training.json', warn), s);
      if (tc) data.curves.push(tc); else warn(`${label}: training.json has no curves`);
      const zero = tc && zeroAdvantageWarning(tc, label);
      if (zero) warn(zero);
    }
  }
  return data;
}
