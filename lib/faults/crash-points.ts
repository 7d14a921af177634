// "Crash exactly here" hooks for the reliability suite (test/faults). `crashPoint(name)` is a no-op
// unless the environment variable CLGRPO_CRASH_AT names that point; then the process SIGKILLs itself
// on the spot, so no `finally`, no exit handler and no buffered write runs — the same state a power
// cut or an OOM kill leaves. Production never sets the variable; the check is one env lookup.
// Syntax: CLGRPO_CRASH_AT=<point>[@<n>][,<point>[@<n>]...] kills on the n-th time (1-based, default 1)
// the point is reached in this process. CLGRPO_CRASH_MARK=<file> (optional) makes the process append
// the point's name to that file just before dying, so a test can tell its crash from any other exit.
// Exports: crashPoint, CRASH_POINTS, parseCrashSpec.
import { appendFileSync } from 'node:fs';

/** Every point compiled into the engine, with where it sits (docs/faults.md lists the same). */
export const CRASH_POINTS = {
  'checkpoint.before-latest': 'lib/ml/checkpoint.ts: checkpoint directory renamed into place, LATEST pointer not yet moved',
  'eval.mid-model': 'activities/eval.ts: a model of the report scored (heartbeat sent), the next not yet',
  'store.before-index': 'lib/store/store.ts publish: artifact renamed into artifacts/, stage-key index not yet written',
  'store.after-index': 'lib/store/store.ts publish: artifact and index written, the activity not yet completed (a lost completion)',
} as const;
export type CrashPointName = keyof typeof CRASH_POINTS;

/** Parses CLGRPO_CRASH_AT: point name → the hit (1-based) that kills. Unknown names are kept (typos show in tests). */
export function parseCrashSpec(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, nth] = part.split('@');
    const n = nth === undefined ? 1 : Number(nth);
    if (!Number.isInteger(n) || n < 1) throw new Error(`CLGRPO_CRASH_AT: bad hit count in '${part}' (want <point>@<n>, n ≥ 1)`);
    out.set(name, n);
  }
  return out;
}

let armed: Map<string, number> | undefined;
const hits = new Map<string, number>();

/** Kills this process with SIGKILL when CLGRPO_CRASH_AT names `name` (on its n-th hit). */
export function crashPoint(name: CrashPointName): void {
  const spec = process.env.CLGRPO_CRASH_AT;
  if (!spec) return;
  armed ??= parseCrashSpec(spec);
  const want = armed.get(name);
  if (want === undefined) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n !== want) return;
  const mark = process.env.CLGRPO_CRASH_MARK;
  if (mark) appendFileSync(mark, `${name} ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
