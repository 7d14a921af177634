// The HTML rendering of the pre-registered comparisons (stats-compare.ts): a table with each
// comparison's mean paired difference, bootstrap interval, sign count and verdict in words, and a
// forest plot per metric (accuracy primary, macro recall secondary).
import type { ResultsTable } from './aggregate';
import { points } from './format';
import type { ReportData } from './model';
import { formatInterval, STAT_METHOD, STAT_METRICS, statComparisons, verdict, type StatComparison, type StatMetric } from './stats-compare';
import { forestPlot } from './svg/forest';
import { esc } from './svg/util';

const NAMES: Record<StatMetric, string> = { accuracy: 'accuracy', macroRecall: 'macro recall' };

function statCells(c: StatComparison, m: StatMetric): string {
  const s = c.stats[m];
  const cls = s.n < 2 || s.spansZero ? 'zero' : s.mean > 0 ? 'pos' : 'neg';
  return `<td class="num ${cls}">${esc(formatInterval(s))}</td><td class="num">${s.positive}/${s.n}</td><td class="verdict ${cls}">${esc(verdict(s))}</td>`;
}

export function forestFor(cs: StatComparison[], m: StatMetric, split: string): string {
  return forestPlot({
    title: `Paired differences, ${NAMES[m]} (${split}), mean and 95 % bootstrap CI`, xLabel: `Δ ${NAMES[m]}, points (A − B)`,
    rows: cs.map((c) => {
      const s = c.stats[m];
      return { label: `${c.a} − ${c.b}`, mean: s.mean, lo: s.lo, hi: s.hi, points: s.deltas, spansZero: s.n < 2 || s.spansZero,
        note: `${formatInterval(s)} · ${s.positive}/${s.n} seeds > 0${s.spansZero ? ' · not distinguishable from 0' : ''}` };
    }),
  });
}

export function statsHtml(data: ReportData, t: ResultsTable): string {
  const cs = statComparisons(data, t);
  if (!cs.length) return '';
  const head = `<tr><th>Comparison (A − B)</th><th>Basis</th>${STAT_METRICS.map((m) => `<th class="num">Δ ${NAMES[m]} [95 % CI]</th><th class="num">seeds +</th><th>${NAMES[m]}</th>`).join('')}<th class="num">Δ accuracy per seed</th></tr>`;
  const body = cs.map((c) => `<tr><th scope="row" class="stage">${esc(`${c.a} − ${c.b}`)}</th><td>${esc(c.basis)}</td>${STAT_METRICS.map((m) => statCells(c, m)).join('')}`
    + `<td class="num">${esc(c.stats.accuracy.deltas.map((d) => points(d)).join(', '))}</td></tr>`).join('');
  return `<h3 id="stats-${esc(t.split)}">Pre-registered comparisons</h3><p class="note">${esc(STAT_METHOD)}. Primary metric accuracy, secondary macro recall. Where the interval contains 0 the difference is <b>not distinguishable from 0</b>, whatever the sign of the mean.</p>`
    + `<div class="table-wrap"><table class="stats"><thead>${head}</thead><tbody>${body}</tbody></table></div>`
    + `<div class="grid">${STAT_METRICS.map((m) => `<figure class="forest">${forestFor(cs, m, t.split)}<figcaption>Square: mean paired difference; line: 95 % percentile bootstrap interval; dots: seeds; dashed: 0. Grey rows are not distinguishable from 0.</figcaption></figure>`).join('')}</div>`;
}
