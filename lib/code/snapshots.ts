// Code identities kept in the store ($CLGRPO_HOME/code/<hash>.json), written by workers when they
// run a stage and by `plan`, so a later `plan` can name the files that changed since a key was
// made, and a worker whose code differs from the client's can say which files differ.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { changedFiles, type CodeIdentity } from './identity';

function pathOf(home: string, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a code identity hash: ${hash.slice(0, 80)}`);
  return join(home, 'code', `${hash}.json`);
}

export function saveCodeIdentity(home: string, id: CodeIdentity): void {
  const file = pathOf(home, id.hash);
  if (existsSync(file)) return;
  try {
    mkdirSync(join(home, 'code'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(id));
    renameSync(tmp, file);
  } catch {
    // Only diagnostics depend on it: a read-only store still runs.
  }
}

export function loadCodeIdentity(home: string, hash: string): CodeIdentity | undefined {
  try {
    const file = pathOf(home, hash);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CodeIdentity) : undefined;
  } catch {
    return undefined;
  }
}

/** "lib/ml/model.ts, activities/sft.ts" (at most `max` names, then "+N more"), or the entry and count when the old identity is not kept. */
export function describeCodeChange(home: string, beforeHash: string, now: CodeIdentity, max = 4): string {
  const before = loadCodeIdentity(home, beforeHash);
  if (!before) return `${now.entry} and the ${Object.keys(now.files).length} files it reaches`;
  const changed = changedFiles(before, now);
  if (!changed.length) return `normaliser ${before.normaliser} → ${now.normaliser}`;
  const shown = changed.slice(0, max).join(', ');
  return changed.length > max ? `${shown} +${changed.length - max} more` : shown;
}
