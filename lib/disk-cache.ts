// Derived files the engine keeps between processes under node_modules/.cache/clgrpo/ (the workflow
// bundle, the compiled spec validator): named `<prefix><key>.<ext>`, where the key hashes everything
// the file is derived from, so a stale file is never read, only left behind until the next write
// of the same prefix removes it. Writes are atomic (temp file + rename): a concurrent reader sees the
// whole file or none. (bin/ts-require.js keeps its own copy of this, in plain JS, because it runs
// before any TypeScript can load.)
// Exports: cacheDir, publishCached.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './code/identity';

/** Inside node_modules so that generated code can require the project's packages. */
export function cacheDir(root = PROJECT_ROOT): string {
  return join(root, 'node_modules', '.cache', 'clgrpo');
}

/**
 * Writes `content` to `file` (in its directory, atomically) and removes that directory's other files
 * named `<prefix>…<ext>`. False when the cache is not writable (a read-only checkout): the caller
 * keeps what it computed for this process.
 */
export function publishCached(file: string, prefix: string, content: string): boolean {
  const dir = join(file, '..');
  const ext = file.slice(file.lastIndexOf('.'));
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, content);
    renameSync(tmp, file);
    for (const n of readdirSync(dir)) {
      if (n.startsWith(prefix) && n.endsWith(ext) && join(dir, n) !== file) rmSync(join(dir, n), { force: true });
    }
    return true;
  } catch {
    return false;
  }
}
