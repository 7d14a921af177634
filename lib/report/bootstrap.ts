// Paired statistics over seeds for the pre-registered comparisons (issue 13): the mean of the per-seed
// differences, a percentile bootstrap interval for it, and the sign count. Pure and seeded: the same
// differences and seed give the same interval on every machine (lib/rng.ts, sfc32).
import { rngFor } from '../rng';

export const BOOTSTRAP_RESAMPLES = 10_000;
export const BOOTSTRAP_LEVEL = 0.95;
/** Fixed seed of the report's resampling; each comparison derives its own stream from it by name. */
export const BOOTSTRAP_SEED = 13;
/** Differences smaller than this (in points) are ties in the sign count. */
export const TIE = 1e-9;

export interface PairedStats {
  n: number;
  /** The differences themselves, in seed order (points). */
  deltas: number[];
  mean: number;
  /** Percentile bootstrap interval of the mean at `level`; NaN when n = 0. */
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  /** Seeds with a positive difference (a tie counts as neither). */
  positive: number;
  negative: number;
  /** True when the interval contains 0: the difference is not distinguishable from 0. */
  spansZero: boolean;
}

/**
 * Empirical quantile of sorted values, the inverse of the empirical CDF (Hyndman–Fan type 1): the
 * smallest value whose cumulative share reaches p. No interpolation, so an interval only ever names
 * means a resample can take, and a test can check it against an exact enumeration.
 */
export function quantileSorted(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length - 1e-9) - 1));
  return sorted[i];
}

/** Means of `resamples` resamples with replacement of `xs`, drawn from the seeded stream `scope`. */
export function bootstrapMeans(xs: number[], resamples: number, seed: number, ...scope: string[]): number[] {
  const rng = rngFor(seed, 'report-bootstrap', ...scope);
  const n = xs.length;
  const out = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)];
    out[b] = s / n;
  }
  return out;
}

export interface BootstrapOptions {
  resamples?: number;
  level?: number;
  seed?: number;
  /** Names the comparison, so each one draws its own stream (order of comparisons does not matter). */
  scope?: string[];
}

export function pairedStats(deltas: number[], o: BootstrapOptions = {}): PairedStats {
  const xs = deltas.filter((v) => Number.isFinite(v));
  const resamples = o.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = o.level ?? BOOTSTRAP_LEVEL;
  const n = xs.length;
  // Float noise (a macro recall recomputed from the same counts) must not turn a tie into a win.
  const positive = xs.filter((v) => v > TIE).length;
  const negative = xs.filter((v) => v < -TIE).length;
  if (n === 0) return { n, deltas: xs, mean: NaN, lo: NaN, hi: NaN, level, resamples, positive, negative, spansZero: true };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const means = bootstrapMeans(xs, resamples, o.seed ?? BOOTSTRAP_SEED, ...(o.scope ?? [])).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  const lo = quantileSorted(means, alpha);
  const hi = quantileSorted(means, 1 - alpha);
  return { n, deltas: xs, mean, lo, hi, level, resamples, positive, negative, spansZero: lo <= 0 && hi >= 0 };
}
