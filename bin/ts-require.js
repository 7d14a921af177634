// Runs the project's TypeScript under CommonJS without a build step: a `.ts` require hook that
// compiles each file with esbuild (what tsx does too) and keeps the output in
// node_modules/.cache/clgrpo/ts/, keyed by the file's path and bytes, esbuild's version and
// tsconfig.json. Why not tsx's hook: it also hooks every `.js` file, so each of the ~750
// node_modules files a `clgrpo run` loads went through it; the CLI's module loading took 1.35 s with
// it and 0.9 s with this one (issue 14, docs/runtime.md). Node's own source-map support maps stack
// traces back to the .ts lines (inline maps). One cache file per source file: writing a new version
// removes that file's older ones. Without a writable cache it compiles in memory every time.
// CLGRPO_TS_CACHE moves the cache (tests).
// Used by bin/clgrpo.js and the stage threads (activities/stage-thread.js); tests and benches keep
// `--import tsx`.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { publishCacheFile } = require('./cache-file');

const ROOT = path.join(__dirname, '..');
const CACHE = process.env.CLGRPO_TS_CACHE || path.join(ROOT, 'node_modules', '.cache', 'clgrpo', 'ts');
/** Bumped when the compile options below change. */
const FORMAT = 'clgrpo-ts-require/1';

let esbuild;
let tsconfigText;
let salt;
/** What every key starts with: the format, esbuild's version and the tsconfig (a cache hit loads no esbuild). */
function keySalt() {
  if (salt === undefined) {
    const version = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version;
    tsconfigText = readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8');
    salt = `${FORMAT}\0${version}\0${tsconfigText}\0`;
  }
  return salt;
}

let options;
function compile(source, filename) {
  esbuild ??= require('esbuild');
  options ??= {
    loader: 'ts', format: 'cjs', target: `node${process.versions.node.split('.')[0]}`, sourcemap: 'inline',
    // import() becomes require(), as under tsx's CommonJS hook
    supported: { 'dynamic-import': false }, tsconfigRaw: { compilerOptions: JSON.parse(tsconfigText).compilerOptions },
  };
  return esbuild.transformSync(source, { ...options, sourcefile: filename }).code;
}

function cached(source, filename) {
  const pathHash = createHash('sha256').update(filename).digest('hex').slice(0, 16);
  const key = createHash('sha256').update(keySalt()).update(filename).update('\0').update(source).digest('hex').slice(0, 32);
  const file = path.join(CACHE, `${pathHash}-${key}.js`);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // a miss: compile and publish, dropping this source file's older versions
  }
  const code = compile(source, filename);
  // (false on a read-only checkout: each process compiles)
  publishCacheFile(file, code, (n) => n.startsWith(`${pathHash}-`) && n.endsWith('.js'));
  return code;
}

if (!require.extensions['.ts']) {
  process.setSourceMapsEnabled(true);
  require.extensions['.ts'] = function loadTs(module, filename) {
    module._compile(cached(readFileSync(filename, 'utf8'), filename), filename);
  };
}
