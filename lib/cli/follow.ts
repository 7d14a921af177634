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
  for (;;) {
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
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
  }
}
