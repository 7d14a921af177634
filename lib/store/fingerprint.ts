// Content fingerprints of user data (imports, `pretrain.init`), taken on the worker that reads it:
// sha256 over the sorted (path, size, content sha256) of every file a stage reads. Fast on large
// folders through a stat cache per data root (path + size + mtime + inode → content hash): only
// files whose stat changed are read and hashed again. The file list of each fingerprint is kept
// under $CLGRPO_HOME/fingerprints/ so `plan` can say how many files changed since the last run.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DataFingerprint } from '../plan/effective-key';
import { sha256Hex, type JsonObject } from '../canonical';
import { dataRootFor, readSetOf } from '../ml/data/read-set';

/** [size, mtimeMs, ino, sha256] of one file. */
type StatEntry = [number, number, number, string];

interface StatCacheFile {
  root: string;
  entries: Record<string, StatEntry>;
}

export interface FingerprintOptions {
  /** Where stat caches and file lists live ($CLGRPO_HOME); none = no cache, no file list. */
  home?: string;
  /** Called every few hundred files while hashing. */
  onProgress?: (done: number, total: number) => void;
}

const CHUNK = 1 << 20;

function hashFile(abs: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(CHUNK);
  const fd = openSync(abs, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function cachePath(home: string, root: string): string {
  return join(home, 'cache', 'fingerprint', `stat-${sha256Hex(root).slice(0, 16)}.json`);
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function loadCache(file: string | undefined, root: string): Map<string, StatEntry> {
  if (!file || !existsSync(file)) return new Map();
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as StatCacheFile;
    return c.root === root ? new Map(Object.entries(c.entries)) : new Map();
  } catch {
    return new Map(); // a torn cache only costs re-hashing
  }
}

/**
 * Fingerprint `rels` (paths relative to `root`, which must be a real path). A file that vanished
 * counts as its own state ("missing"), so deleting a file changes the fingerprint too.
 */
export function fingerprintFiles(root: string, rels: string[], opts: FingerprintOptions = {}): DataFingerprint & { list: [string, number, string][] } {
  const sorted = [...new Set(rels)].sort();
  const cacheFile = opts.home ? cachePath(opts.home, root) : undefined;
  const cache = loadCache(cacheFile, root);
  const next: Record<string, StatEntry> = {};
  const list: [string, number, string][] = [];
  let bytes = 0;
  let hashed = 0;
  sorted.forEach((rel, i) => {
    const abs = join(root, rel);
    let st;
    try {
      st = statSync(abs);
    } catch {
      list.push([rel, -1, 'missing']);
      return;
    }
    const hit = cache.get(rel);
    let sha: string;
    if (hit && hit[0] === st.size && hit[1] === st.mtimeMs && hit[2] === st.ino) {
      sha = hit[3];
    } else {
      sha = hashFile(abs);
      hashed++;
    }
    next[rel] = [st.size, st.mtimeMs, st.ino, sha];
    list.push([rel, st.size, sha]);
    bytes += st.size;
    if (opts.onProgress && i % 500 === 499) opts.onProgress(i + 1, sorted.length);
  });
  const fingerprint = sha256Hex(list.map(([r, size, sha]) => `${JSON.stringify(r)}\t${size}\t${sha}\n`).join(''));
  if (opts.home) {
    if (hashed > 0 || cache.size !== Object.keys(next).length) writeAtomic(cacheFile as string, JSON.stringify({ root, entries: next }));
    const listFile = fingerprintListPath(opts.home, fingerprint);
    if (!existsSync(listFile)) writeAtomic(listFile, JSON.stringify({ fingerprint, files: list }));
  }
  return { fingerprint, files: list.length, bytes, hashed, list };
}

export function fingerprintListPath(home: string, fingerprint: string): string {
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error(`not a fingerprint: ${fingerprint.slice(0, 80)}`);
  return join(home, 'fingerprints', `${fingerprint}.json`);
}

/** How many files differ between two recorded fingerprints (undefined when a list is not kept here). */
export function changedFileCount(home: string, before: string, after: string): number | undefined {
  const read = (fp: string): Map<string, string> | undefined => {
    const f = fingerprintListPath(home, fp);
    if (!existsSync(f)) return undefined;
    const l = JSON.parse(readFileSync(f, 'utf8')) as { files: [string, number, string][] };
    return new Map(l.files.map(([r, size, sha]) => [r, `${size}:${sha}`]));
  };
  const a = read(before);
  const b = read(after);
  if (!a || !b) return undefined;
  let n = 0;
  for (const [r, v] of a) if (b.get(r) !== v) n++;
  for (const r of b.keys()) if (!a.has(r)) n++;
  return n;
}

/**
 * The fingerprint of what a data-reading stage reads (lib/ml/data/read-set.ts), under the data root
 * this process sees (CLGRPO_DATA_ROOT in `env`): the workflow's fingerprint activity, the stage's
 * re-check after reading, and `plan` all take it this one way.
 */
export function fingerprintStageReads(home: string, env: Readonly<Record<string, string | undefined>>, kind: string, params: JsonObject,
  onProgress?: (done: number, total: number) => void): DataFingerprint {
  const root = dataRootFor(env, params);
  const files = readSetOf(kind, params, root).map((abs) => relative(root, abs).split(sep).join('/'));
  const { fingerprint, files: n, bytes, hashed } = fingerprintFiles(root, files, { home, onProgress });
  return { fingerprint, files: n, bytes, hashed };
}
