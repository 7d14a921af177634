// Retry timing and secret hygiene for remote teachers: pure helpers, tested on their own.
// Transient failures (429, 5xx, timeouts, dropped connections) wait an exponentially growing,
// jittered delay, or what the server's Retry-After asks for (capped, so a hostile or broken header
// cannot park a worker for hours); the count per request is bounded, after which the stage fails
// with a retryable error and Temporal's retry policy takes over (the memo keeps finished samples).

export interface RetryPolicy {
  /** Transient retries per request after the first try. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on a server's Retry-After. */
  retryAfterCapMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 20_000, retryAfterCapMs: 60_000 };

/** Delay before retry number `retry` (0-based): base·2^retry capped, scaled by a jitter in [0.5, 1). */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(cap * (0.5 + 0.5 * random));
}

/**
 * Retry-After as milliseconds: delta-seconds ("3") or an HTTP date; null when absent or unreadable.
 * A date in the past means "now" (0).
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const h = header.trim();
  if (/^\d+(\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
  const t = Date.parse(h);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - nowMs);
}

/** The wait before the next try: the server's Retry-After when given (capped), else backoff. */
export function retryDelayMs(retry: number, retryAfter: number | null, policy: RetryPolicy, random: number): number {
  if (retryAfter !== null) return Math.min(retryAfter, policy.retryAfterCapMs);
  return backoffDelayMs(retry, policy, random);
}

/** Whether an HTTP status is worth retrying. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/** Replace every occurrence of each secret (and of `Bearer <secret>`) in a text. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s === undefined || s.length < 4) continue;
    out = out.split(s).join('[REDACTED]');
  }
  return out;
}

/** Strip user:password from a URL before it is recorded anywhere. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '[unparseable url]';
  }
}

/** setTimeout as a promise that rejects when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
