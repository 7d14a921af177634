// Forest plot of paired comparisons: one row per comparison, the mean difference as a square, its
// confidence interval as a line, each seed's difference as a faint dot, and the zero line that an
// interval must clear before a difference is told apart from 0.
import { extent, formatTick, linearScale, niceTicks } from './scale';
import { esc, r1, svgDoc, text, textWidth } from './util';

export interface ForestRow {
  label: string;
  mean: number;
  lo: number;
  hi: number;
  /** Per-seed values, drawn as dots. */
  points?: number[];
  /** Right-hand note, e.g. "+1.2 [−0.3, 2.8] · 4/5". */
  note?: string;
  /** Interval contains 0: drawn muted. */
  spansZero?: boolean;
}

export interface ForestOptions {
  title: string;
  rows: ForestRow[];
  xLabel?: string;
  plotWidth?: number;
}

const ROW_H = 24;
const M = { top: 32, bottom: 44 };

export function forestPlot(o: ForestOptions): string {
  const labelW = Math.max(80, ...o.rows.map((r) => textWidth(r.label) + 12));
  const noteW = Math.max(60, ...o.rows.map((r) => textWidth(r.note ?? '') + 12));
  const pw = o.plotWidth ?? 360;
  const x0 = labelW + 8;
  const width = x0 + pw + 12 + noteW;
  const ph = Math.max(1, o.rows.length) * ROW_H;
  const height = M.top + ph + M.bottom;
  // The domain always contains 0, so the zero line is on the chart even when every row is far from it.
  const ext = extent([0, ...o.rows.flatMap((r) => [r.lo, r.hi, r.mean, ...(r.points ?? [])])]) ?? [0, 1];
  const ticks = niceTicks(ext[0], ext[1], 6);
  const x = linearScale(ticks.domain, [x0, x0 + pw]);
  const grid = ticks.ticks.map((t) => `<line class="grid" x1="${r1(x(t))}" x2="${r1(x(t))}" y1="${M.top}" y2="${M.top + ph}"/>`
    + text(x(t), M.top + ph + 14, formatTick(t, ticks.step), 'class="tick" text-anchor="middle"')).join('');
  const zero = `<line class="zero-line" x1="${r1(x(0))}" x2="${r1(x(0))}" y1="${M.top - 4}" y2="${M.top + ph}" stroke="#323f4b" stroke-width="1.2" stroke-dasharray="4 3"/>`;
  const rows = o.rows.map((r, i) => {
    const cy = M.top + i * ROW_H + ROW_H / 2;
    const tone = r.spansZero ? '#7b8794' : '#0b5cab';
    const ok = Number.isFinite(r.lo) && Number.isFinite(r.hi);
    const ci = ok ? `<line class="ci" x1="${r1(x(r.lo))}" x2="${r1(x(r.hi))}" y1="${r1(cy)}" y2="${r1(cy)}" stroke="${tone}" stroke-width="2"/>`
      + `<path class="ci-cap" d="M${r1(x(r.lo))} ${r1(cy - 4)}v8M${r1(x(r.hi))} ${r1(cy - 4)}v8" stroke="${tone}" stroke-width="1.5"/>` : '';
    const dots = (r.points ?? []).filter(Number.isFinite).map((p) => `<circle class="seed-dot" cx="${r1(x(p))}" cy="${r1(cy + 6)}" r="2.2" fill="${tone}" opacity="0.45"/>`).join('');
    const mean = Number.isFinite(r.mean) ? `<rect class="mean" x="${r1(x(r.mean) - 4)}" y="${r1(cy - 4)}" width="8" height="8" fill="${tone}"/>` : '';
    return `<g class="forest-row"><title>${esc(`${r.label}: ${r.note ?? ''}`)}</title>`
      + text(x0 - 8, cy + 4, r.label, 'class="tick" text-anchor="end"') + ci + dots + mean
      + text(x0 + pw + 12, cy + 4, r.note ?? '', 'class="tick"') + '</g>';
  }).join('');
  const xlab = text(x0 + pw / 2, M.top + ph + 34, o.xLabel ?? 'difference', 'class="axis-label" text-anchor="middle"');
  return svgDoc(width, height, o.title, `${text(8, 18, o.title, 'class="chart-title"')}<rect class="plot-bg" x="${x0}" y="${M.top}" width="${pw}" height="${ph}"/>${grid}${zero}${rows}${xlab}`);
}
