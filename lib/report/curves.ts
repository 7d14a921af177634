// Which training curves go on which chart. Curves of one base stage (its seeds) share a chart so
// repeats are visible side by side: colour means the metric, dash means the seed/member. GRPO-family
// stages also get comparison charts across stages (plain GRPO vs CLGRPO from the same start).
import type { JsonObject } from '../canonical';
import { groupKeyOf } from './aggregate';
import type { ReportData, StageInfo, TrainingCurves } from './model';
import type { LineSeries } from './svg/line-chart';
import { color, dash } from './svg/util';

export interface ChartSpec {
  title: string;
  yLabel: string;
  yDomain?: [number, number];
  series: LineSeries[];
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
];

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
        points: m.curves[metric] ?? [], color: color(mi), dash: dash(si),
      })));
      charts.push({ title: panel.title, yLabel: panel.yLabel, yDomain: panel.yDomain, series });
    }
    return { group, kind: first?.kind ?? members[0].kind, caption: stageCaption(first), members: members.map((m) => m.stageId), charts };
  });
}

/** GRPO-family stages side by side on the metrics where ClipLow should show (colour = stage). */
export function grpoComparison(data: ReportData): ChartSpec[] {
  const groups = curveGroups(data).filter((g) => g.kind === 'grpo');
  if (groups.length < 2) return [];
  const byGroup = new Map<string, TrainingCurves[]>();
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  for (const tc of data.curves) {
    const s = stages.get(`${tc.runId}/${tc.stageId}`);
    const g = s ? groupKeyOf(s) : tc.stageId;
    if (groups.some((x) => x.group === g)) byGroup.set(g, [...(byGroup.get(g) ?? []), tc]);
  }
  const wanted: Array<[string, string, [number, number] | undefined]> = [
    ['reward.total', 'Total reward', undefined], ['kl', 'KL to reference', undefined],
    ['clipHighFrac', 'Tokens clipped at the high bound', undefined], ['clipLowFrac', 'Tokens clipped at the low bound', undefined],
  ];
  return wanted.map(([metric, title, yDomain]) => ({
    title, yLabel: metric, yDomain,
    series: [...byGroup].flatMap(([g, ms], gi) => ms.filter((m) => m.curves[metric]).map((m, si) => ({
      label: ms.length > 1 ? `${g} · ${memberLabel(stages.get(`${m.runId}/${m.stageId}`), m, data.runs.length > 1)}` : g,
      points: m.curves[metric], color: color(gi), dash: dash(si),
    }))),
  })).filter((c) => c.series.length > 0);
}
