// Confusion-matrix heatmap: rows are true labels, columns predicted labels plus "unparsed".
// Colour is the row-normalized share (recall on the diagonal); the cell prints the raw count.
import { rowNormalize } from '../aggregate';
import { esc, r1, svgDoc, text } from './util';

export interface HeatmapOptions {
  title: string;
  labels: string[];
  /** Counts; a column beyond `labels` is the unparseable bucket. */
  matrix: number[][];
  cell?: number;
}

/** White → blue ramp; returns an rgb() string for t in [0, 1]. */
export function ramp(t: number): string {
  const c = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  const from = [247, 251, 255];
  const to = [8, 69, 148];
  const mix = from.map((f, i) => Math.round(f + (to[i] - f) * Math.sqrt(c)));
  return `rgb(${mix.join(',')})`;
}

export function heatmap(o: HeatmapOptions): string {
  const cell = o.cell ?? 28;
  const cols = Math.max(o.labels.length, ...o.matrix.map((r) => r.length));
  const colLabels = [...o.labels, ...(cols > o.labels.length ? ['unparsed'] : [])];
  const left = 88;
  const top = 90;
  const width = left + cols * cell + 16;
  const height = top + o.labels.length * cell + 34;
  const norm = rowNormalize(o.matrix);
  const parts: string[] = [text(8, 18, o.title, 'class="chart-title"')];
  colLabels.forEach((l, j) => {
    const cx = left + j * cell + cell / 2;
    parts.push(text(cx, top - 6, l, `class="tick" text-anchor="start" transform="rotate(-50 ${r1(cx)} ${top - 6})"`));
  });
  o.labels.forEach((l, i) => {
    const cy = top + i * cell + cell / 2 + 4;
    parts.push(text(left - 6, cy, l, 'class="tick" text-anchor="end"'));
    for (let j = 0; j < cols; j++) {
      const share = norm[i]?.[j] ?? 0;
      const count = o.matrix[i]?.[j] ?? 0;
      const x = left + j * cell;
      const y = top + i * cell;
      const diag = i === j ? ' diag' : '';
      parts.push(`<rect class="cell${diag}" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${ramp(share)}"><title>${esc(`true ${l} → ${colLabels[j]}: ${count} (${(share * 100).toFixed(1)}%)`)}</title></rect>`);
      if (count > 0) parts.push(text(x + cell / 2, y + cell / 2 + 4, String(count), `class="cell-num" text-anchor="middle" fill="${share > 0.45 ? '#fff' : '#1f2933'}"`));
    }
  });
  parts.push(text(left + (cols * cell) / 2, top + o.labels.length * cell + 22, 'predicted →', 'class="axis-label" text-anchor="middle"'));
  parts.push(text(8, top - 6, 'true ↓', 'class="axis-label"'));
  return svgDoc(width, height, o.title, parts.join(''), 'chart heatmap');
}
