// Learning-rate schedule: linear warmup then cosine decay to a floor. Pure, so resume is exact:
// the rate is a function of the step alone.
// Exports: lrAt(step, opts), ScheduleOptions.

export interface ScheduleOptions {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final rate as a fraction of lr (default 0.1). */
  minLrFrac?: number;
}

/** Rate for 0-based `step`: (step+1)/warmup·lr during warmup, then cosine from lr to minLrFrac·lr. */
export function lrAt(step: number, o: ScheduleOptions): number {
  const floor = o.lr * (o.minLrFrac ?? 0.1);
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / span));
  return floor + 0.5 * (o.lr - floor) * (1 + Math.cos(Math.PI * progress));
}
