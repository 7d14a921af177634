// The HTML report's sections, each a pure function of ReportData (plus the aggregated tables):
// results, per-class recall, confusion matrices, curves, COT and lineage. render-html.ts frames them.
import type { ResultRow, ResultsTable, Summary } from './aggregate';
import { groupKeyOf, RESULT_METRICS } from './aggregate';
import { fairComparisons } from './compare';
import { curveGroups, grpoComparisons, type ChartSpec } from './curves';
import { duration, pct, pctRange, pctSummary, points, shortId } from './format';
import type { CotStats, ReportData } from './model';
import { barChart } from './svg/bar-chart';
import { dagChart, reduceDatasetEdges } from './svg/dag';
import { heatmap } from './svg/heatmap';
import { lineChart } from './svg/line-chart';
import { statsHtml } from './stats-html';
import { color, esc } from './svg/util';

const METRIC_NAMES: Record<string, string> = { accuracy: 'Accuracy', macroRecall: 'Macro recall', formatRate: 'Format rate' };

function deltaCell(v: number | undefined, isBase: boolean): string {
  if (isBase) return '<td class="num delta base">baseline</td>';
  if (v === undefined) return '<td class="num delta"></td>';
  const cls = v > 0.05 ? 'pos' : v < -0.05 ? 'neg' : 'zero';
  return `<td class="num delta ${cls}">${esc(points(v))}</td>`;
}

function valueCell(s: Summary, best = false): string {
  const range = pctRange(s);
  return `<td class="num${best ? ' best' : ''}">${esc(pctSummary(s))}${range ? `<span class="range">${esc(range)}</span>` : ''}</td>`;
}

function rowHead(r: ResultRow): string {
  const seeds = r.seeds.length ? r.seeds.join(', ') : '–';
  return `<th scope="row" class="stage">${esc(r.group)}${r.isBaseline ? ' <span class="badge">baseline</span>' : ''}</th><td>${esc(r.kind)}</td><td class="num">${r.members.length}</td><td class="seeds">${esc(seeds)}</td>`;
}

export function resultsSection(data: ReportData, t: ResultsTable): string {
  const best = Object.fromEntries(RESULT_METRICS.map((m) => [m, Math.max(...t.rows.map((r) => r.metrics[m].mean).filter(Number.isFinite))]));
  const head = `<tr><th>Stage</th><th>Kind</th><th class="num">n</th><th>Seeds</th>${RESULT_METRICS.map((m) => `<th class="num">${METRIC_NAMES[m]} %</th><th class="num">Δ pts</th>${m === 'accuracy' ? '<th class="num" title="seeds on which accuracy beats the baseline">seeds ↑</th>' : ''}`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr class="${r.isBaseline ? 'baseline' : ''}">${rowHead(r)}${RESULT_METRICS.map((m) => valueCell(r.metrics[m], r.metrics[m].mean === best[m]) + deltaCell(r.delta?.[m], r.isBaseline)
    + (m === 'accuracy' ? `<td class="num">${r.wins && r.wins.paired ? `${r.wins.better}/${r.wins.paired}` : ''}</td>` : '')).join('')}</tr>`).join('');
  const cls = `<tr><th>Stage</th>${t.labels.map((l) => `<th class="num">${esc(l)}</th>`).join('')}</tr>`;
  const clsBody = t.rows.map((r) => `<tr class="${r.isBaseline ? 'baseline' : ''}"><th scope="row" class="stage">${esc(r.group)}</th>${t.labels.map((l) => {
    const d = r.perClassDelta?.[l];
    const dcls = d === undefined ? '' : d > 0.05 ? 'pos' : d < -0.05 ? 'neg' : 'zero';
    return `<td class="num">${esc(pctSummary(r.perClass[l]))}${d !== undefined ? `<span class="sub ${dcls}">${esc(points(d))}</span>` : ''}</td>`;
  }).join('')}</tr>`).join('');
  const bars = barChart({
    title: `Per-class recall (${t.split})`, categories: t.labels, yLabel: 'recall %', minWidth: 960,
    series: t.rows.map((r, i) => ({
      label: r.group, color: color(i), values: t.labels.map((l) => r.perClass[l].mean),
      low: t.labels.map((l) => r.perClass[l].min), high: t.labels.map((l) => r.perClass[l].max),
    })),
  });
  return `<h3>Split <code>${esc(t.split)}</code></h3><p class="note">${esc(t.baselineNote)}. Values are mean ± sample standard deviation over the n members (seeds / runs), with the min–max range beneath; Δ is the difference of means against the baseline in percentage points.</p>`
    + `<div class="table-wrap"><table class="results"><thead>${head}</thead><tbody>${body}</tbody></table></div>`
    + fairHtml(data, t)
    + statsHtml(data, t)
    + `<h3>Per-class recall %</h3><div class="table-wrap"><table class="perclass"><thead>${cls}</thead><tbody>${clsBody}</tbody></table></div>`
    + `<figure>${bars}<figcaption>Bars: mean over members; whiskers: min–max.</figcaption></figure>`;
}

/** CLGRPO against its plain-GRPO control from the same start: the comparison the method rests on. */
function fairHtml(data: ReportData, t: ResultsTable): string {
  return fairComparisons(data, t).map((c) => {
    const budget = c.stepsEqual ? `equal budgets (${esc(String(Object.values(c.steps)[0] ?? '?'))} steps)` : `<b class="neg">budgets differ: ${esc(Object.entries(c.steps).map(([g, n]) => `${g} ${n ?? '?'}`).join(', '))}</b>`;
    const rows = c.rows.map((r) => `<tr><th scope="row" class="stage">${esc(r.group)}</th>${RESULT_METRICS.map((m) => deltaCell(r.delta[m], false)).join('')}`
      + `<td class="num">${r.paired.map((p) => `<span class="${p.delta > 0 ? 'pos' : p.delta < 0 ? 'neg' : 'zero'}">${esc(`seed ${p.seed}: ${points(p.delta)}`)}</span>`).join('<br>')}</td></tr>`).join('');
    return `<h3>Same start: against <code>${esc(c.reference)}</code></h3><p class="note">Stages trained from <b>${esc(c.parent)}</b>; ${budget}. Δ in points against ${esc(c.reference)}, and per seed (paired) for accuracy.</p>`
      + `<div class="table-wrap"><table class="fair"><thead><tr><th>Stage</th>${RESULT_METRICS.map((m) => `<th class="num">Δ ${METRIC_NAMES[m].toLowerCase()}</th>`).join('')}<th class="num">Δ accuracy per seed</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }).join('');
}

export function confusionSection(t: ResultsTable): string {
  const maps = t.rows.map((r) => `<figure class="cm">${heatmap({ title: `${r.group} (${r.members.length > 1 ? `sum of ${r.members.length}` : 'one model'})`, labels: t.labels, matrix: r.confusion })}</figure>`).join('');
  return `<p class="note">Rows: true label; columns: predicted label and unparseable answers. Colour is the row share (recall on the diagonal), the number is the count${t.rows.some((r) => r.members.length > 1) ? ', summed over seeds' : ''}.</p><div class="grid cm-grid">${maps}</div>`;
}

function charts(specs: ChartSpec[]): string {
  return specs.map((c) => `<figure>${lineChart({ title: c.title, series: c.series, yLabel: c.yLabel, xLabel: 'step', yDomain: c.yDomain, legendItems: c.legend })}</figure>`).join('');
}

export function curvesSection(data: ReportData): string {
  const groups = curveGroups(data);
  if (groups.length === 0) return '<p class="empty">No training curves were found.</p>';
  const cmpHtml = grpoComparisons(data).map((c) => `<h3>Same start: ${esc(c.groups.join(' vs '))}</h3><p class="note">All start from <b>${esc(c.parent)}</b>; steps ${esc(c.steps.map((s, i) => `${c.groups[i]} ${s ?? '?'}`).join(', '))}${new Set(c.steps).size > 1 ? ' <b class="neg">(budgets differ: not a fair comparison)</b>' : ' (equal budgets)'}. One colour per stage. Expected of a lower ε_high (ClipLow): more tokens clipped at the high bound and a smaller KL; the charts show whether it happened.</p><div class="grid">${charts(c.charts)}</div>`).join('');
  const smoothNote = '<p class="note">Lines: moving average (debiased EMA); faint: raw values. Colour: metric; dash: seed.</p>';
  // Stages with a single chart (SFT, pretrain: loss only) share a row instead of each taking one.
  const stagesHtml = groups.map((g) => `<div class="stage-curves${g.charts.length > 1 ? ' wide' : ''}"><h3 id="curves-${esc(slug(g.group))}">${esc(g.group)}</h3><p class="note">${esc(g.caption)}${g.members.length > 1 ? ` · ${g.members.length} members` : ''}</p><div class="grid">${charts(g.charts)}</div></div>`).join('');
  return `${smoothNote}${cmpHtml}<div class="curve-flow">${stagesHtml}</div>`;
}

/** COT stages that differ only by seed share one block: one bar series and one table row each. */
export function cotSection(data: ReportData): string {
  if (data.cot.length === 0) return '<p class="empty">No COT stage in this run.</p>';
  const stages = new Map(data.stages.map((s) => [`${s.runId}/${s.id}`, s]));
  const groups = new Map<string, CotStats[]>();
  for (const c of data.cot) {
    const st = stages.get(`${c.runId}/${c.stageId}`);
    const g = st ? groupKeyOf(st) : c.stageId;
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  return [...groups].map(([g, members]) => {
    const name = (c: CotStats) => (members.length > 1 ? (stages.get(`${c.runId}/${c.stageId}`)?.seed !== undefined ? `seed ${stages.get(`${c.runId}/${c.stageId}`)!.seed}` : c.stageId) : 'keep rate');
    const labels = [...new Set(members.flatMap((c) => Object.keys(c.perClass)))];
    const teachers = [...new Set(members.flatMap((c) => Object.keys(c.perTeacher)))];
    const perClass = barChart({ title: 'Keep rate per class', categories: labels, yLabel: 'kept %', minWidth: 620,
      series: members.map((c, i) => ({ label: name(c), color: color(2 + i * 2), values: labels.map((l) => c.perClass[l]?.keepRate ?? NaN) })) });
    const perTeacher = barChart({ title: 'Verified per teacher', categories: teachers, yLabel: 'verified %', minWidth: 300,
      series: members.map((c, i) => ({ label: name(c), color: color(i * 4), values: teachers.map((t) => c.perTeacher[t]?.keepRate ?? NaN) })) });
    const runs = members.map((c) => `<tr><th scope="row">${esc(c.stageId)}</th><td class="num">${c.asked}</td><td class="num">${c.kept}</td><td class="num">${pct(c.keepRate)}</td><td class="num">${c.malformed}</td></tr>`).join('');
    const trows = members.flatMap((c) => teachers.filter((t) => c.perTeacher[t]).map((t) => {
      const x = c.perTeacher[t];
      return `<tr><th scope="row">${esc(t)}</th><td>${esc(c.stageId)}</td><td class="num">${x.asked}</td><td class="num">${x.verified}</td><td class="num">${x.malformed}</td><td class="num">${pct(x.keepRate)}</td></tr>`;
    })).join('');
    const agree = members.flatMap((c) => (c.agreement?.pairs ?? []).map((p) => `<tr><td>${esc(p.a)} ↔ ${esc(p.b)}</td><td>${esc(c.stageId)}</td><td class="num">${p.agree} / ${p.total}</td><td class="num">${pct(p.total ? p.agree / p.total : NaN)}</td></tr>`)).join('');
    return `<h3>${esc(g)}</h3><div class="grid"><figure>${perClass}</figure><figure>${perTeacher}</figure></div><div class="grid">`
      + `<div class="table-wrap"><table><thead><tr><th>Stage</th><th class="num">asked</th><th class="num">kept</th><th class="num">keep %</th><th class="num">malformed</th></tr></thead><tbody>${runs}</tbody></table></div>`
      + `<div class="table-wrap"><table><thead><tr><th>Teacher</th><th>Stage</th><th class="num">asked</th><th class="num">verified</th><th class="num">malformed</th><th class="num">verified %</th></tr></thead><tbody>${trows}</tbody></table></div>`
      + (agree ? `<div class="table-wrap"><table><thead><tr><th>Teacher pair</th><th>Stage</th><th class="num">agree</th><th class="num">%</th></tr></thead><tbody>${agree}</tbody></table></div>` : '') + '</div>';
  }).join('');
}

export function lineageSection(data: ReportData): string {
  const multi = data.runs.length > 1;
  const rows = data.stages.map((s) => `<tr><td>${esc(multi ? `${s.runId}/${s.id}` : s.id)}</td><td>${esc(s.kind)}</td><td class="num">${s.seed ?? '–'}</td><td>${s.status ? esc(s.status) : ''}${s.reused ? ' <span class="badge">reused</span>' : ''}</td><td class="num">${esc(duration(s.wallSeconds))}</td><td><code title="${esc(s.artifactId ?? '')}">${esc(shortId(s.artifactId))}</code></td></tr>`).join('');
  const hidden = reduceDatasetEdges(data.lineage).hidden;
  const note = hidden ? `<p class="note">${hidden} dataset edges that a longer path already implies are not drawn; hover a stage for all its inputs. Dashed: reused from an earlier run.</p>` : '';
  const dag = data.lineage.nodes.length ? `${note}<figure class="dag-fig">${dagChart(data.lineage, 'Lineage of the run')}</figure>` : '<p class="empty">No lineage recorded.</p>';
  return `${dag}<div class="table-wrap"><table><thead><tr><th>Stage</th><th>Kind</th><th class="num">Seed</th><th>Status</th><th class="num">Wall</th><th>Artifact</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
