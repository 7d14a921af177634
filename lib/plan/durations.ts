// Durations in specs ("500ms", "90s", "15m", "2h", "1d", "1h30m") → milliseconds, and the built-in
// retry and timeout policies a stage gets when neither it nor `defaults` says otherwise.
import type { RetrySpec, StageKind, TimeoutSpec } from './types';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    end = re.lastIndex;
  }
  if (end !== text.length || !text.length) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. "90s", "2h")`);
  return total;
}

export const DEFAULT_RETRY: RetrySpec = { maximumAttempts: 5, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 300_000 };

/** Training stages heartbeat and may run for hours; dataset generation and eval are shorter. */
export function defaultTimeouts(kind: StageKind): TimeoutSpec {
  const startToCloseMs = kind === 'dataset' ? 30 * 60_000 : kind === 'eval' ? 3_600_000 : 6 * 3_600_000;
  return { startToCloseMs, heartbeatMs: 60_000 };
}

interface RetryIn { maximumAttempts?: number; initialInterval?: string; backoffCoefficient?: number; maximumInterval?: string }
interface TimeoutsIn { startToClose?: string; heartbeat?: string }

/** Stage fields over `defaults` over the built-ins, field by field. */
export function resolveRetry(stage: RetryIn | undefined, defaults: RetryIn | undefined): RetrySpec {
  const m = { ...defaults, ...stage };
  return {
    maximumAttempts: m.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts,
    initialIntervalMs: m.initialInterval !== undefined ? parseDuration(m.initialInterval) : DEFAULT_RETRY.initialIntervalMs,
    backoffCoefficient: m.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
    maximumIntervalMs: m.maximumInterval !== undefined ? parseDuration(m.maximumInterval) : DEFAULT_RETRY.maximumIntervalMs,
  };
}

export function resolveTimeouts(kind: StageKind, stage: TimeoutsIn | undefined, defaults: TimeoutsIn | undefined): TimeoutSpec {
  const m = { ...defaults, ...stage };
  const d = defaultTimeouts(kind);
  return {
    startToCloseMs: m.startToClose !== undefined ? parseDuration(m.startToClose) : d.startToCloseMs,
    heartbeatMs: m.heartbeat !== undefined ? parseDuration(m.heartbeat) : d.heartbeatMs,
  };
}
