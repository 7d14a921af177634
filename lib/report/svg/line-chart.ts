// Line chart with axes, nice ticks, grid and a legend: the training curves (loss, rewards, KL, clip
// fractions, accuracy over steps). Non-finite values break the line instead of bending it to zero.
import type { Series } from '../model';
import { extent, formatTick, linearScale, niceTicks, thin } from './scale';
import { esc, legend, r1, svgDoc, text } from './util';

export interface LineSeries {
  label: string;
  points: Series;
  color: string;
  dash?: string;
}

export interface LineChartOptions {
  title: string;
  series: LineSeries[];
  xLabel?: string;
  yLabel?: string;
  /** Fixed y domain (e.g. [0, 1] for rates); otherwise fitted to the data. */
  yDomain?: [number, number];
  width?: number;
  plotHeight?: number;
  /** Most points drawn per series. */
  maxPoints?: number;
  /** Legend entries to show instead of one per series (e.g. colours = metrics, dashes = seeds). */
  legendItems?: LegendItem[];
}

export interface LegendItem { label: string; color: string; dash?: string }

const M = { top: 30, right: 16, bottom: 44, left: 56 };

/**
 * Exponential moving average with TensorBoard's debiasing (the first values are not pulled toward
 * zero). The weight grows with the series length so long noisy curves read as trends.
 */
export function smooth(points: Series, weight = smoothingWeight(points.length)): Series {
  let acc = 0;
  let k = 0;
  return points.map(([s, v]) => {
    if (!Number.isFinite(v)) return [s, v];
    acc = acc * weight + (1 - weight) * v;
    k++;
    return [s, acc / (1 - weight ** k)];
  });
}

export function smoothingWeight(n: number): number {
  return n < 30 ? 0 : Math.min(0.9, 1 - 8 / n);
}

/** SVG path of one series: "M x y L ..." segments, a new "M" after each gap. */
export function linePath(points: Series, x: (v: number) => number, y: (v: number) => number): string {
  const parts: string[] = [];
  let pen = false;
  for (const [s, v] of points) {
    if (!Number.isFinite(s) || !Number.isFinite(v)) { pen = false; continue; }
    parts.push(`${pen ? 'L' : 'M'}${r1(x(s))} ${r1(y(v))}`);
    pen = true;
  }
  return parts.join('');
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 368;
  const ph = o.plotHeight ?? 190;
  const pw = width - M.left - M.right;
  const series = o.series.map((s) => ({ ...s, points: thin(s.points, o.maxPoints ?? 400) }));
  const xs = extent(series.flatMap((s) => s.points.map((p) => p[0])));
  const ys = extent(series.flatMap((s) => s.points.map((p) => p[1])));
  const leg = legend(o.legendItems ?? series.map((s) => ({ label: s.label, color: s.color, dash: s.dash })), M.left, M.top + ph + 46, pw);
  const height = M.top + ph + M.bottom + leg.height;
  const head = text(M.left, 18, o.title, 'class="chart-title"');
  if (!xs || !ys) {
    return svgDoc(width, height, o.title, `${head}<rect class="plot-bg" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/>${text(M.left + pw / 2, M.top + ph / 2, 'no data', 'class="empty" text-anchor="middle"')}`);
  }
  const xt = niceTicks(xs[0], xs[1], 5);
  const yt = o.yDomain ? niceTicks(o.yDomain[0], o.yDomain[1], 5) : niceTicks(ys[0], ys[1], 5);
  // Steps start at 0 or 1: widening to the nice domain keeps the axis ending on a labelled tick.
  const x = linearScale(xs[0] >= 0 ? xt.domain : [xs[0], xs[1]], [M.left, M.left + pw]);
  const y = linearScale(yt.domain, [M.top + ph, M.top]);
  const grid = yt.ticks.map((t) => `<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${r1(y(t))}" y2="${r1(y(t))}"/>`
    + text(M.left - 6, y(t) + 3.5, formatTick(t, yt.step), 'class="tick" text-anchor="end"')).join('');
  const xticks = xt.ticks.filter((t) => t >= x.domain[0] - 1e-9 && t <= x.domain[1] + 1e-9).map((t) =>
    `<line class="axis" x1="${r1(x(t))}" x2="${r1(x(t))}" y1="${M.top + ph}" y2="${M.top + ph + 4}"/>`
    + text(x(t), M.top + ph + 16, formatTick(t, xt.step), 'class="tick" text-anchor="middle"')).join('');
  // Noisy curves: the raw values stay visible but faint under their moving average.
  const lines = series.map((s) => {
    const attrs = `stroke="${s.color}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`;
    const w = smoothingWeight(s.points.length);
    const raw = w > 0 ? `<path class="series raw" d="${linePath(s.points, x, y)}" stroke="${s.color}"/>` : '';
    return `${raw}<path class="series" d="${linePath(w > 0 ? smooth(s.points, w) : s.points, x, y)}" ${attrs}><title>${esc(s.label)}</title></path>`;
  }).join('');
  // A lone point draws no visible path, so each single-point series also gets a dot.
  const dots = series.filter((s) => s.points.length === 1).map((s) => `<circle cx="${r1(x(s.points[0][0]))}" cy="${r1(y(s.points[0][1]))}" r="3" fill="${s.color}"/>`).join('');
  const axes = `<line class="axis" x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}"/>`
    + `<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}"/>`;
  const labels = (o.xLabel ? text(M.left + pw / 2, M.top + ph + 34, o.xLabel, 'class="axis-label" text-anchor="middle"') : '')
    + (o.yLabel ? text(14, M.top + ph / 2, o.yLabel, `class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${r1(M.top + ph / 2)})"`) : '');
  const clipId = `c${Math.abs(hashString(o.title + series.map((s) => s.label).join()))}`;
  const clip = `<clipPath id="${clipId}"><rect x="${M.left}" y="${M.top - 2}" width="${pw + 2}" height="${ph + 4}"/></clipPath>`;
  return svgDoc(width, height, o.title, `${head}<defs>${clip}</defs><rect class="plot-bg" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/>${grid}${axes}${xticks}${labels}<g clip-path="url(#${clipId})">${lines}${dots}</g>${leg.svg}`);
}

/** Small stable string hash for element ids (several charts share one page). */
function hashString(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
