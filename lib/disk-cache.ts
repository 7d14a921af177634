// Derived files the engine keeps between processes under node_modules/.cache/clgrpo/ (the workflow
// bundle, the compiled spec validator): named `<prefix><key>.<ext>`, where the key hashes everything
// the file is derived from, so a stale file is never read, only left behind until the next write
// of the same prefix removes it. Writes are atomic (bin/cache-file.js, shared with the TypeScript
// hook and the compile cache, which run before any TypeScript can load).
// Exports: cacheDir, publishCached.
import { join } from 'node:path';
import { publishCacheFile } from '../bin/cache-file';
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
  const ext = file.slice(file.lastIndexOf('.'));
  return publishCacheFile(file, content, (n) => n.startsWith(prefix) && n.endsWith(ext));
}
