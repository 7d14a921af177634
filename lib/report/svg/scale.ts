// Scales and ticks for the report's charts: the small pieces of maths every chart shares,
// tested on their own (test/report/svg.test.ts).

export type Scale = ((v: number) => number) & { domain: [number, number]; range: [number, number] };

/** Maps [d0, d1] onto [r0, r1]; a zero-width domain maps everything to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const f = ((v: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0))) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** The 1, 2, 5 × 10^k step nearest to span / count. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

/** The domain widened to whole steps, and the ticks on it (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5): { domain: [number, number]; ticks: number[]; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { domain: [0, 1], ticks: [0, 0.5, 1], step: 0.5 };
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  // Rounding to the step's decimals keeps 0.30000000000000004 out of domains and labels.
  const dec = decimalsFor(step);
  const lo = Number((Math.floor(min / step + 1e-9) * step).toFixed(dec));
  const hi = Number((Math.ceil(max / step - 1e-9) * step).toFixed(dec));
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(Number((lo + i * step).toFixed(dec)));
  return { domain: [lo, hi], ticks, step };
}

/** Decimals needed to print multiples of `step` exactly. */
export function decimalsFor(step: number): number {
  if (!(step > 0)) return 0;
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Tick label: compact for big numbers (1.2k), fixed decimals otherwise. */
export function formatTick(v: number, step: number): string {
  if (Math.abs(v) >= 1e4 && step >= 1000) return `${Number((v / 1000).toFixed(decimalsFor(step / 1000)))}k`;
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(1);
  return v.toFixed(decimalsFor(step));
}

/** Extent of finite values, or undefined when there is none. */
export function extent(values: Iterable<number>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** At most `max` points, evenly strided, always keeping the last one (long runs stay light). */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * stride)]);
  out.push(points[points.length - 1]);
  return out;
}
