// Grouped bar chart of fractions (per-class recall of each result row, COT keep rate per class and
// per teacher). Values are drawn as percent on a fixed 0–100 axis so charts compare at a glance.
import { formatTick, linearScale, niceTicks } from './scale';
import { esc, legend, r1, svgDoc, text } from './util';

export interface BarSeries {
  label: string;
  color: string;
  /** One value per category, a fraction in [0, 1]; NaN leaves a gap. */
  values: number[];
  /** Optional error bars (same unit), e.g. min and max over seeds. */
  low?: number[];
  high?: number[];
}

export interface BarChartOptions {
  title: string;
  categories: string[];
  series: BarSeries[];
  yLabel?: string;
  plotHeight?: number;
  minWidth?: number;
}

const M = { top: 30, right: 16, bottom: 46, left: 56 };

export function barChart(o: BarChartOptions): string {
  const ph = o.plotHeight ?? 180;
  const nS = Math.max(1, o.series.length);
  const barW = Math.max(6, Math.min(22, 90 / nS));
  const groupW = nS * barW + 14;
  const pw = Math.max((o.minWidth ?? 460) - M.left - M.right, o.categories.length * groupW);
  const width = pw + M.left + M.right;
  const leg = legend(o.series.map((s) => ({ label: s.label, color: s.color, swatch: 'box' as const })), M.left, M.top + ph + 44, pw);
  const height = M.top + ph + M.bottom + leg.height;
  const yt = niceTicks(0, 1, 5);
  const y = linearScale([0, 1], [M.top + ph, M.top]);
  const slot = pw / Math.max(1, o.categories.length);
  const grid = yt.ticks.map((t) => `<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${r1(y(t))}" y2="${r1(y(t))}"/>`
    + text(M.left - 6, y(t) + 3.5, formatTick(t * 100, 20), 'class="tick" text-anchor="end"')).join('');
  const bars: string[] = [];
  o.categories.forEach((cat, ci) => {
    const gx = M.left + ci * slot + (slot - nS * barW) / 2;
    o.series.forEach((s, si) => {
      const v = s.values[ci];
      if (!Number.isFinite(v)) return;
      const bx = gx + si * barW;
      const top = y(Math.max(0, Math.min(1, v)));
      bars.push(`<rect class="bar" x="${r1(bx + 1)}" y="${r1(top)}" width="${r1(barW - 2)}" height="${r1(M.top + ph - top)}" fill="${s.color}"><title>${esc(`${s.label} · ${cat}: ${(v * 100).toFixed(1)}%`)}</title></rect>`);
      const lo = s.low?.[ci];
      const hi = s.high?.[ci];
      if (lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) {
        const cx = bx + barW / 2;
        bars.push(`<path class="errbar" d="M${r1(cx)} ${r1(y(lo))}V${r1(y(hi))}M${r1(cx - 3)} ${r1(y(lo))}h6M${r1(cx - 3)} ${r1(y(hi))}h6"/>`);
      }
    });
    bars.push(text(M.left + ci * slot + slot / 2, M.top + ph + 16, cat, 'class="tick cat" text-anchor="middle"'));
  });
  const axes = `<line class="axis" x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}"/>`;
  const ylab = text(14, M.top + ph / 2, o.yLabel ?? '%', `class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${r1(M.top + ph / 2)})"`);
  return svgDoc(width, height, o.title, `${text(M.left, 18, o.title, 'class="chart-title"')}<rect class="plot-bg" x="${M.left}" y="${M.top}" width="${r1(pw)}" height="${ph}"/>${grid}${axes}${ylab}${bars.join('')}${leg.svg}`);
}
