// Following a run: polls its live status (query + describe) and prints per-stage progress. On a
// terminal the block of stage lines is redrawn in place; otherwise a line is printed when a stage
// changes state or, while running, at most every 15 s.
import type { WorkflowHandle } from '@temporalio/client';
import { liveStatus, type LiveStatus } from '../temporal/pipeline-client';
import { RateTracker, stageLine } from './progress';

export interface FollowOptions {
  intervalMs?: number;
  quiet?: boolean;
  out?: NodeJS.WriteStream;
  /** Stop following (the run goes on). */
  signal?: AbortSignal;
  /** Status of a closed run whose query nobody answers (no worker): the run record. */
  fallback?: () => LiveStatus | undefined;
  /** Settles when the run closes (e.g. the workflow result): ends the wait between polls at once. */
  closed?: Promise<unknown>;
}

export async function follow(handle: WorkflowHandle, o: FollowOptions = {}): Promise<LiveStatus> {
  const out = o.out ?? process.stdout;
  const tty = Boolean(out.isTTY) && !o.quiet;
  const rates = new RateTracker();
  const printed = new Map<string, { line: string; state: string; at: number }>();
  let drawn = 0;
  let last: LiveStatus | undefined;
  let failures = 0;
  let warned = false;
  // The run closing ends one wait early; after that, polls keep their interval (no busy loop while
  // the server still says RUNNING or cannot be reached).
  let closed = false;
  const wake = o.closed?.then(() => { closed = true; }, () => { closed = true; });
  for (;;) {
    const wakeThisTime = closed ? undefined : wake;
    try {
      last = await liveStatus(handle, 5000);
      failures = 0;
    } catch (err) {
      // A restarting server or no worker on the pipeline queue yet: say so once, keep trying a while.
      if (!warned && !o.quiet) out.write(`waiting: ${(err as Error).message.split('\n')[0]}\n`);
      warned = true;
      const closed = await handle.describe().then((d) => d.status.name !== 'RUNNING', () => false);
      const fb = closed ? o.fallback?.() : undefined;
      if (fb && fb.state !== 'running') return fb;
      if (++failures > 120) throw err;
    }
    if (last && !o.quiet) {
      const now = Date.now();
      const lines = last.stages.map((s) => stageLine(s, now, rates));
      if (tty) {
        if (drawn) out.write(`\x1b[${drawn}A`);
        out.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
        drawn = lines.length;
      } else {
        last.stages.forEach((s, i) => {
          const prev = printed.get(s.id);
          const due = s.state === 'running' && prev && now - prev.at > 15_000 && prev.line !== lines[i];
          if (!prev ? s.state !== 'pending' : prev.state !== s.state || due) {
            out.write(`${lines[i]}\n`);
            printed.set(s.id, { line: lines[i], state: s.state, at: now });
          }
        });
      }
    }
    if (last && last.execution !== 'RUNNING') return last;
    if (o.signal?.aborted) {
      if (!last) throw new Error('stopped before the run status could be read');
      return last;
    }
    await pause(o.intervalMs ?? 1000, o.signal, wakeThisTime);
  }
}

/** The wait between polls; a closed run or a stop request ends it early (a short run should not wait a full interval). */
function pause(ms: number, signal: AbortSignal | undefined, closed: Promise<unknown> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    closed?.then(done, done);
  });
}
