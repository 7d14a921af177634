// How every derived file the project keeps under node_modules/.cache/clgrpo/ is written: atomically
// (a temp file of this process and thread, then a rename: a concurrent reader sees the whole file or
// none), and the older versions of the same source removed. Plain JavaScript because the TypeScript
// hook (ts-require.js) and the compile cache (compile-cache.js) use it before any TypeScript can
// load; lib/disk-cache.ts uses it too (types in cache-file.d.ts).
'use strict';
const { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/**
 * Writes `data` to `file` (its directory made) and removes the directory's other files that
 * `isOlderVersion(name)` accepts, among `names` when the caller keeps a listing, else the directory's.
 * False when the cache is not writable (a read-only checkout): the caller keeps what it computed.
 */
function publishCacheFile(file, data, isOlderVersion, names) {
  const dir = path.dirname(file);
  const own = path.basename(file);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
    for (const n of names ?? readdirSync(dir)) {
      if (n !== own && !n.endsWith('.tmp') && isOlderVersion(n)) rmSync(path.join(dir, n), { force: true });
    }
    return true;
  } catch {
    return false;
  }
}

module.exports = { publishCacheFile };
