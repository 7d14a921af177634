// Number formatting shared by the Markdown and HTML renderers, so both print the same digits.
import type { Summary } from './aggregate';

/** A fraction as percent with one decimal: 0.7125 → "71.3". */
export function pct(v: number): string {
  return Number.isFinite(v) ? (v * 100).toFixed(1) : '–';
}

/** "71.3 ± 1.2" (sample std over seeds) or just "71.3" for a single member. */
export function pctSummary(s: Summary): string {
  if (s.n === 0) return '–';
  return s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean);
}

/** "70.1–72.4" for several members, '' for one. */
export function pctRange(s: Summary): string {
  return s.n > 1 ? `${pct(s.min)}–${pct(s.max)}` : '';
}

/** Signed points, one decimal: +2.8, −0.4 (true minus sign), 0.0. */
export function points(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '';
  const r = Math.round(v * 10) / 10;
  if (r === 0) return '±0.0';
  return r > 0 ? `+${r.toFixed(1)}` : `\u2212${Math.abs(r).toFixed(1)}`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function shortId(id: string | undefined): string {
  return id ? id.slice(0, 12) : '–';
}
