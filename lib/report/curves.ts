// Which training curves go on which chart. Curves of one base stage (its seeds) share a chart so
// repeats are visible side by side: colour means the metric, dash means the seed/member. GRPO-family
// stages also get comparison charts across stages (plain GRPO vs CLGRPO from the same start).
import type { JsonObject } from '../canonical';
import { groupKeyOf } from './aggregate';
import { grpoParents } from './compare';
import type { ReportData, StageInfo, TrainingCurves } from './model';
import type { LegendItem, LineSeries } from './svg/line-chart';
import { color, dash } from './svg/util';

export interface ChartSpec {
  title: string;
  yLabel: string;
  yDomain?: [number, number];
  series: LineSeries[];
  legend?: LegendItem[];
}

/** One legend entry per colour and one per dash, instead of every colour × dash pair. */
function factorLegend(colours: Array<[string, string]>, dashes: string[]): LegendItem[] | undefined {
  if (dashes.length < 2) return undefined;
  return [...colours.map(([label, c]) => ({ label, color: c })), ...dashes.map((label, i) => ({ label, color: '#52606d', dash: dash(i) }))];
}

export interface CurveGroup {
  group: string;
  kind: string;
  /** One line on what the stage did: rewards, clip bounds, steps. */
  caption: string;
  members: string[];
  charts: ChartSpec[];
}

interface Panel { title: string; yLabel: string; yDomain?: [number, number]; match: (metric: string) => boolean }

/** The issue's curve list, in reading order. Metrics not matched here are not drawn (lr, tokens/s). */
export const PANELS: Panel[] = [
  { title: 'Loss', yLabel: 'loss', match: (m) => m === 'loss' || m === 'evalLoss' },
  { title: 'Reward per reward function', yLabel: 'mean reward', match: (m) => m.startsWith('reward.') },
  { title: 'KL to reference', yLabel: 'KL (k3)', match: (m) => m === 'kl' },
  { title: 'Clipped token fraction', yLabel: 'fraction', match: (m) => m === 'clipLowFrac' || m === 'clipHighFrac' },
  { title: 'Accuracy and format rate', yLabel: 'fraction', yDomain: [0, 1], match: (m) => m === 'accuracy' || m === 'formatRate' },
  { title: 'Entropy', yLabel: 'nats/token', match: (m) => m === 'entropy' },
  // 1 = every group had equal rewards: every advantage 0, the step changed nothing (both trainers).
  { title: 'Groups with zero advantage', yLabel: 'fraction', yDomain: [0, 1], match: (m) => m === 'zeroAdvantageFrac' },
];

/** A metric keeps its colour on every chart (reward.format is the same blue everywhere). */
const METRIC_COLOUR: Record<string, number> = {
  loss: 0, evalLoss: 1, 'reward.format': 0, 'reward.accuracy': 2, 'reward.total': 1, kl: 3,
  clipLowFrac: 0, clipHighFrac: 5, accuracy: 2, formatRate: 0, entropy: 4, zeroAdvantageFrac: 3,
};

export function metricColour(metric: string, indexInPanel: number): string {
  return color(METRIC_COLOUR[metric] ?? 6 + indexInPanel);
}

export function stageCaption(s: StageInfo | undefined): string {
  if (!s) return '';
  const p: JsonObject = s.params ?? {};
  const bits: string[] = [s.kind];
  if (s.kind === 'sft' && typeof p.target === 'string') bits.push(`target ${p.target}`);
  if (Array.isArray(p.rewards)) {
    const names = p.rewards.map((r) => (typeof r === 'string' ? r : r && typeof r === 'object' && !Array.isArray(r) ? String(r.name) : '?'));
    bits.push(`rewards ${names.join(' + ')}`);
  }
  const clip = p.clip;
  if (clip && typeof clip === 'object' && !Array.isArray(clip)) bits.push(`clip ε_low ${String(clip.low)} / ε_high ${String(clip.high)}`);
  if (typeof p.iterations === 'number') bits.push(`${p.iterations} updates per rollout`);
  if (typeof p.steps === 'number') bits.push(`${p.steps} steps`);
  else if (typeof p.epochs === 'number') bits.push(`${p.epochs} epochs`);
  return bits.join(' · ');
}

function memberLabel(s: StageInfo | undefined, tc: TrainingCurves, multiRun: boolean): string {
  if (s?.seed !== undefined) return `seed ${s.seed}`;
  return multiRun ? `${tc.runId}/${tc.stageId}` : tc.stageId;
}

export function curveGroups(data: ReportData): CurveGroup[] {
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  const groups = new Map<string, TrainingCurves[]>();
  for (const tc of data.curves) {
    const s = stages.get(`${tc.runId}/${tc.stageId}`);
    const g = s ? groupKeyOf(s) : tc.stageId;
    groups.set(g, [...(groups.get(g) ?? []), tc]);
  }
  const multiRun = data.runs.length > 1;
  return [...groups].map(([group, members]) => {
    const first = stages.get(`${members[0].runId}/${members[0].stageId}`);
    const charts: ChartSpec[] = [];
    for (const panel of PANELS) {
      const metrics = [...new Set(members.flatMap((m) => Object.keys(m.curves).filter(panel.match)))].sort();
      if (metrics.length === 0) continue;
      const series = metrics.flatMap((metric, mi) => members.map((m, si) => ({
        label: members.length > 1 ? `${metric} · ${memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, multiRun)}` : metric,
        points: m.curves[metric] ?? [], color: metricColour(metric, mi), dash: dash(si),
      })));
      const legend = factorLegend(metrics.map((m, mi) => [m, metricColour(m, mi)]), members.map((m) => memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, multiRun)));
      charts.push({ title: panel.title, yLabel: panel.yLabel, yDomain: panel.yDomain, series, legend });
    }
    return { group, kind: first?.kind ?? members[0].kind, caption: stageCaption(first), members: members.map((m) => m.stageId), charts };
  });
}

/**
 * The fair comparisons of CLGRPO.md: GRPO-family stages that start from the same model (siblings
 * in the lineage, e.g. "stage 3 continued with plain GRPO" beside CLGRPO), on the metrics where the
 * ClipLow bound should show. Colour = stage, dash = seed.
 */
export function grpoComparisons(data: ReportData): Array<{ parent: string; groups: string[]; steps: Array<number | undefined>; charts: ChartSpec[] }> {
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  const groupOf = (runId: string, stageId: string) => { const s = stages.get(`${runId}/${stageId}`); return s ? groupKeyOf(s) : stageId; };
  const parentOf = grpoParents(data);
  const siblings = new Map<string, Map<string, TrainingCurves[]>>();
  for (const tc of data.curves) {
    const parent = parentOf.get(`${tc.runId}/${tc.stageId}`);
    if (!parent) continue;
    const fam = siblings.get(parent) ?? new Map<string, TrainingCurves[]>();
    const g = groupOf(tc.runId, tc.stageId);
    fam.set(g, [...(fam.get(g) ?? []), tc]);
    siblings.set(parent, fam);
  }
  const wanted: Array<[string, string]> = [['reward.total', 'Total reward'], ['reward.accuracy', 'Accuracy reward'], ['kl', 'KL to reference'],
    ['clipHighFrac', 'Tokens clipped at the high bound'], ['clipLowFrac', 'Tokens clipped at the low bound']];
  return [...siblings].filter(([, fam]) => fam.size >= 2).map(([parent, fam]) => {
    const seeds = [...new Set([...fam.values()].flatMap((ms) => ms.map((m) => memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, data.runs.length > 1))))];
    const charts = wanted.map(([metric, title]) => ({
      title, yLabel: metric,
      series: [...fam].flatMap(([g, ms], gi) => ms.filter((m) => m.curves[metric]?.length).map((m) => ({
        label: ms.length > 1 ? `${g} · ${memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, data.runs.length > 1)}` : g,
        points: m.curves[metric], color: color(gi), dash: dash(seeds.indexOf(memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, data.runs.length > 1))),
      }))),
      legend: factorLegend([...fam.keys()].map((g, gi) => [g, color(gi)]), seeds),
    })).filter((c) => c.series.length > 0);
    const steps = [...fam.values()].map((ms) => {
      const p = stages.get(`${ms[0].runId}/${ms[0].stageId}`)?.params?.steps;
      return typeof p === 'number' ? p : undefined;
    });
    return { parent, groups: [...fam.keys()], steps, charts };
  });
}
