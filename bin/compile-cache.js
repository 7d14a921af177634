// Keeps V8's compiled code for the node_modules JavaScript the CLI loads, so a process does not parse
// and compile the same ~750 files again (@temporalio/client, @temporalio/worker, protobufs, ...).
// Node 22 has this built in (module.enableCompileCache); Node 20 does not, so this hooks the
// CommonJS loader: each node_modules `.js` file is compiled (vm.compileFunction with the module
// wrapper's parameters, as Node's loader does) from the cached data of an earlier process, and on
// a miss the data V8 produces is published for the next one. A reused `clgrpo run` of the demo:
// 1.7 s → 1.5 s (issue 14, docs/runtime.md).
//
// Keys: the file's path and bytes, Node's and V8's versions and the architecture; V8 rejects data
// it did not make for this build and flags (then it is rewritten). One cache file per source path:
// writing a new version removes that path's older ones. Our own `.ts` files keep Node's loader
// (its source-map support maps their stack traces; bin/ts-require.js caches their compiled text).
// Not installed under an inspector (break-on-start), nor with CLGRPO_COMPILE_CACHE=0;
// CLGRPO_COMPILE_CACHE=<dir> moves the cache (tests). Without a writable cache it still loads.
// Used by bin/clgrpo.js and activities/stage-thread.js.
'use strict';
const Module = require('node:module');
const vm = require('node:vm');
const path = require('node:path');
const { createHash } = require('node:crypto');
const { readFileSync, readdirSync } = require('node:fs');
const { publishCacheFile } = require('./cache-file');

const SETTING = process.env.CLGRPO_COMPILE_CACHE;
const CACHE = SETTING && SETTING !== '0' ? path.resolve(SETTING) : path.join(__dirname, '..', 'node_modules', '.cache', 'clgrpo', 'v8');
const SALT = `clgrpo-compile-cache/1\0${process.version}\0${process.versions.v8}\0${process.arch}\0`;
const SEP = `${path.sep}node_modules${path.sep}`;
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];
/**
 * Files that may call import() keep Node's loader: a function compiled from cached data loses its
 * dynamic-import callback, and vm's main-context loader for it is experimental (warns) in Node 20.
 */
const DYNAMIC_IMPORT = /\bimport\s*\(/;
/** What this thread's hook did (tests): modules compiled from cached data, compiled afresh, data V8 refused. */
const stats = { installed: false, hits: 0, misses: 0, rejected: 0 };

/** Cache file names by path hash, listed once, on the first miss (to drop a path's older versions). */
let listing;
function publish(file, pathHash, data) {
  if (!listing) {
    listing = new Map();
    try {
      for (const n of readdirSync(CACHE)) {
        const h = n.slice(0, 16);
        listing.set(h, [...(listing.get(h) ?? []), n]);
      }
    } catch {
      // no cache directory yet
    }
  }
  // (false on a read-only checkout: each process compiles)
  if (publishCacheFile(file, data, () => true, listing.get(pathHash) ?? [])) listing.set(pathHash, [path.basename(file)]);
}

function makeRequire(mod) {
  const req = function require(id) {
    return mod.require(id);
  };
  req.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  req.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
  req.main = process.mainModule;
  req.cache = Module._cache;
  req.extensions = Module._extensions;
  return req;
}

function install() {
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileCached(content, filename, format) {
    // (format: 'module' only under require(esm), not on by default in Node 20: Node's path)
    if (format === 'module' || !filename.includes(SEP) || !filename.endsWith('.js') || DYNAMIC_IMPORT.test(content)) {
      return compile.call(this, content, filename, format);
    }
    const pathHash = createHash('sha256').update(filename).digest('hex').slice(0, 16);
    const key = createHash('sha256').update(SALT).update(filename).update('\0').update(content).digest('hex').slice(0, 32);
    const file = path.join(CACHE, `${pathHash}-${key}.v8`);
    let cachedData;
    try {
      cachedData = readFileSync(file);
    } catch {
      // a miss
    }
    let fn;
    try {
      fn = vm.compileFunction(content, PARAMS, { filename, cachedData, produceCachedData: !cachedData });
    } catch {
      // let Node's own loader report a syntax error its usual way
      return compile.call(this, content, filename, format);
    }
    const fresh = !cachedData || fn.cachedDataRejected === true;
    stats[!cachedData ? 'misses' : fresh ? 'rejected' : 'hits']++;
    if (fresh) {
      const data = fn.cachedDataProduced ? fn.cachedData : vm.compileFunction(content, PARAMS, { filename, produceCachedData: true }).cachedData;
      if (data) publish(file, pathHash, data);
    }
    return fn.call(this.exports, this.exports, makeRequire(this), this, filename, path.dirname(filename));
  };
}

const inspecting = process.execArgv.some((a) => a.startsWith('--inspect')) || require('node:inspector').url() !== undefined;
if (SETTING !== '0' && !inspecting && !Module.prototype._compile.clgrpoCompileCache) {
  install();
  Module.prototype._compile.clgrpoCompileCache = true;
  stats.installed = true;
}

module.exports = { stats };
