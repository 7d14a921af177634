// The run report as Markdown: the tables a README can quote verbatim, with links into the HTML page
// for the charts (Markdown viewers cannot be relied on to show inline SVG).
import { buildResultsTables, RESULT_METRICS, type ResultsTable } from './aggregate';
import { fairComparisons } from './compare';
import { curveGroups } from './curves';
import { duration, pct, pctRange, pctSummary, points, shortId } from './format';
import type { ReportData } from './model';
import { formatInterval, STAT_METHOD, statComparisons, verdict } from './stats-compare';

const HEAD: Record<string, string> = { accuracy: 'Accuracy %', macroRecall: 'Macro recall %', formatRate: 'Format rate %' };

/** Pipes and newlines would break a table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(head: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const sep = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [head, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

function fairMd(data: ReportData, t: ResultsTable): string {
  return fairComparisons(data, t).map((c) => {
    const budget = c.stepsEqual ? `equal budgets (${Object.values(c.steps)[0] ?? '?'} steps)` : `**budgets differ**: ${Object.entries(c.steps).map(([g, n]) => `${g} ${n ?? '?'}`).join(', ')}`;
    const rows = c.rows.map((r) => [r.group, ...RESULT_METRICS.map((m) => points(r.delta[m])), r.paired.map((p) => `seed ${p.seed}: ${points(p.delta)}`).join(', ')]);
    return [`Same start (${c.parent}), against \`${c.reference}\`; ${budget}. Δ in points; accuracy also per seed (paired).`, '',
      table(['Stage', ...RESULT_METRICS.map((m) => `Δ ${HEAD[m]}`), 'Δ accuracy per seed'], rows, ['l', 'r', 'r', 'r', 'l']), ''].join('\n');
  }).join('\n');
}

/** The pre-registered comparisons: paired by seed, bootstrap interval, sign count, verdict in words. */
export function statsMd(data: ReportData, t: ResultsTable): string {
  const cs = statComparisons(data, t);
  if (!cs.length) return '';
  const rows = cs.map((c) => [`${c.a} − ${c.b}`, c.basis,
    ...(['accuracy', 'macroRecall'] as const).flatMap((m) => [formatInterval(c.stats[m]), `${c.stats[m].positive}/${c.stats[m].n}`, verdict(c.stats[m])]),
    c.stats.accuracy.deltas.map((d) => points(d)).join(', ')]);
  return [`Pre-registered comparisons (\`${t.split}\`): ${STAT_METHOD}. Primary metric accuracy, secondary macro recall. Forest plot: the HTML report.`, '',
    table(['Comparison (A − B)', 'Basis', 'Δ accuracy [95 % CI]', 'seeds +', 'accuracy', 'Δ macro recall [95 % CI]', 'seeds +', 'macro recall', 'Δ accuracy per seed'],
      rows, ['l', 'l', 'r', 'r', 'l', 'r', 'r', 'l', 'l']), ''].join('\n');
}

function resultsMd(data: ReportData, t: ResultsTable, html: string): string {
  const head = ['Stage', 'Kind', 'n', 'Seeds', ...RESULT_METRICS.flatMap((m) => [HEAD[m], 'Δ pts', ...(m === 'accuracy' ? ['seeds ↑'] : [])])];
  const rows = t.rows.map((r) => [
    r.isBaseline ? `**${r.group}** (baseline)` : r.group, r.kind, String(r.members.length), r.seeds.join(', ') || '–',
    ...RESULT_METRICS.flatMap((m) => {
      const range = pctRange(r.metrics[m]);
      const wins = m === 'accuracy' ? [r.wins && r.wins.paired ? `${r.wins.better}/${r.wins.paired}` : '—'] : [];
      return [`${pctSummary(r.metrics[m])}${range ? ` (${range})` : ''}`, r.isBaseline ? '—' : points(r.delta?.[m]), ...wins];
    }),
  ]);
  const cls = table(['Stage', ...t.labels], t.rows.map((r) => [r.group, ...t.labels.map((l) => {
    const d = r.perClassDelta?.[l];
    return `${pctSummary(r.perClass[l])}${d !== undefined ? ` (${points(d)})` : ''}`;
  })]), ['l', ...t.labels.map(() => 'r' as const)]);
  return [`### Split \`${t.split}\``, '',
    `${t.baselineNote}. Values: mean ± sample standard deviation over the n members (seeds / runs), min–max in brackets; Δ: difference of means against the baseline, in percentage points.`, '',
    table(head, rows, ['l', 'l', 'r', 'l', ...RESULT_METRICS.flatMap((m) => (m === 'accuracy' ? ['r', 'r', 'r'] : ['r', 'r']) as Array<'l' | 'r'>)]), '',
    '"seeds ↑": seeds on which the row\'s accuracy beats the baseline\'s, out of the seeds both have.', '', fairMd(data, t), statsMd(data, t),
    `Per-class recall % (Δ against the baseline in points); chart and confusion matrices: [${html}#results](${html}#results).`, '', cls, ''].join('\n');
}

function cotMd(data: ReportData): string {
  return data.cot.map((c) => {
    const labels = Object.keys(c.perClass);
    const teachers = Object.keys(c.perTeacher);
    return [`### ${c.stageId}`, '', `${c.kept} of ${c.asked} samples kept (${pct(c.keepRate)}%), ${c.malformed} malformed replies.`, '',
      table(['Class', 'asked', 'kept', 'keep %'], labels.map((l) => [l, String(c.perClass[l].asked), String(c.perClass[l].kept), pct(c.perClass[l].keepRate)]), ['l', 'r', 'r', 'r']), '',
      table(['Teacher', 'asked', 'verified', 'malformed', 'keep %'], teachers.map((t) => {
        const s = c.perTeacher[t];
        return [t, String(s.asked), String(s.verified), String(s.malformed), pct(s.keepRate)];
      }), ['l', 'r', 'r', 'r', 'r']), ''].join('\n');
  }).join('\n');
}

/** Mean of the last tenth of a curve: the last value alone of a noisy RL curve says little. */
export function tailMean(points: Array<[number, number]> | undefined): number {
  const vs = (points ?? []).map((p) => p[1]).filter((v) => Number.isFinite(v));
  if (vs.length === 0) return NaN;
  const tail = vs.slice(-Math.max(1, Math.ceil(vs.length / 10)));
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

function finalValue(points: Array<[number, number]> | undefined): string {
  const v = tailMean(points);
  return Number.isFinite(v) ? v.toPrecision(3) : '–';
}

function curvesMd(data: ReportData, html: string): string {
  const groups = curveGroups(data);
  if (!groups.length) return 'No training curves were found.\n';
  const metrics = ['loss', 'reward.total', 'kl', 'clipLowFrac', 'clipHighFrac', 'accuracy'];
  const rows = data.curves.map((tc) => [tc.stageId, tc.kind, String(tc.steps), ...metrics.map((m) => finalValue(tc.curves[m]))]);
  return [`Each curve's mean over its last 10 % of logged steps; the curves themselves: [${html}#curves](${html}#curves).`, '',
    table(['Stage', 'Kind', 'Steps', ...metrics], rows, ['l', 'l', 'r', ...metrics.map(() => 'r' as const)]), ''].join('\n');
}

export function renderMarkdown(data: ReportData, htmlName = 'report.html', tables: ResultsTable[] = buildResultsTables(data)): string {
  const runs = data.runs;
  const head = [`# Run report: ${runs[0]?.pipeline ?? 'pipeline'}`, '',
    ...runs.map((r) => `- run \`${r.id}\`${r.status ? `, ${r.status}` : ''}${r.seed !== undefined ? `, seed ${r.seed}` : ''}${r.wallSeconds !== undefined ? `, wall ${duration(r.wallSeconds)}` : ''}${r.specHash ? `, spec \`${r.specHash.slice(0, 12)}\`` : ''}`),
    `- full report with charts: [${htmlName}](${htmlName})`, ''];
  const warn = data.warnings.length ? ['## Warnings', '', ...data.warnings.map((w) => `- ${w}`), ''] : [];
  const results = tables.length ? tables.map((t) => resultsMd(data, t, htmlName)).join('\n') : 'No eval stage results were found in this run.\n';
  const stages = table(['Stage', 'Kind', 'Seed', 'Status', 'Wall', 'Artifact'], data.stages.map((s) => [
    runs.length > 1 ? `${s.runId}/${s.id}` : s.id, s.kind, s.seed === undefined ? '–' : String(s.seed),
    `${s.status ?? ''}${s.reused ? ' (reused)' : ''}`, duration(s.wallSeconds), `\`${shortId(s.artifactId)}\``]), ['l', 'l', 'r', 'l', 'r', 'l']);
  return [...head, ...warn, '## Results', '', results, '## Training curves', '', curvesMd(data, htmlName),
    '## Chain-of-thought data', '', data.cot.length ? cotMd(data) : 'No COT stage in this run.\n',
    '## Stages', '', `Lineage graph: [${htmlName}#lineage](${htmlName}#lineage).`, '', stages, '',
    `_Generated ${data.generatedAt} by \`clgrpo report\`._`, ''].join('\n');
}
