// bin/compile-cache.js, V8's compiled code of node_modules kept between processes (issue 14: a
// reused `clgrpo run` recompiled ~750 files each time). In real child processes against a
// node_modules package of the test's own: a first process compiles and caches, the next one runs
// from the cache with the same results; an edited file is compiled again and its older cache file
// removed; data V8 refuses is replaced; a file that calls import() is left to Node; stack traces and
// syntax errors read as without the hook; an unwritable cache still runs; CLGRPO_COMPILE_CACHE=0
// turns it off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOOK = join(__dirname, '..', '..', '..', 'bin', 'compile-cache.js');

interface Stats { installed: boolean; hits: number; misses: number; rejected: number }

function run(dir: string, setting: string): { status: number | null; out: string; err: string; stats?: Stats } {
  const r = spawnSync(process.execPath, ['-r', HOOK, join(dir, 'main.js')], { encoding: 'utf8', env: { ...process.env, CLGRPO_COMPILE_CACHE: setting } });
  const lines = r.stdout.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  return last.startsWith('stats ')
    ? { status: r.status, out: lines.slice(0, -1).join('\n'), err: r.stderr, stats: JSON.parse(last.slice(6)) as Stats }
    : { status: r.status, out: r.stdout, err: r.stderr };
}

const INDEX = (v: number) => `const path = require('node:path');
const other = require('./other');
exports.describe = () => [${v}, other.twice(21), path.basename(__filename), path.basename(__dirname),
  path.basename(require.resolve('./other')), require.main === module, typeof require.cache].join(' ');
exports.later = require('./dynamic').later;
`;

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-compile-cache-'));
  const pkg = join(dir, 'node_modules', 'pkg');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'index.js'), INDEX(1));
  writeFileSync(join(pkg, 'other.js'), 'exports.twice = (n) => n * 2;\n');
  // a file that may call import() keeps Node's own loader (not counted in the stats)
  writeFileSync(join(pkg, 'dynamic.js'), "exports.later = () => import('node:os').then((os) => typeof os.cpus);\n");
  writeFileSync(join(dir, 'main.js'), `const pkg = require('pkg');
pkg.later().then((t) => {
  console.log(pkg.describe(), t);
  console.log('stats ' + JSON.stringify(require(${JSON.stringify(HOOK)}).stats));
});
`);
  return dir;
}

test('node_modules code is compiled once, then run from the cache with the same results', () => {
  const dir = project();
  const cache = join(dir, 'cache');
  const first = run(dir, cache);
  assert.equal(first.status, 0, first.err);
  assert.equal(first.out, '1 42 index.js pkg other.js false object function');
  assert.deepEqual(first.stats, { installed: true, hits: 0, misses: 2, rejected: 0 });
  assert.equal(readdirSync(cache).length, 2);
  const again = run(dir, cache);
  assert.equal(again.out, first.out);
  assert.deepEqual(again.stats, { installed: true, hits: 2, misses: 0, rejected: 0 });
  // without the hook: the same output
  assert.equal(run(dir, '0').out, first.out);
});

test('an edited file is compiled again and its older cache file removed', () => {
  const dir = project();
  const cache = join(dir, 'cache');
  run(dir, cache);
  const before = readdirSync(cache).sort();
  writeFileSync(join(dir, 'node_modules', 'pkg', 'index.js'), INDEX(2));
  const edited = run(dir, cache);
  assert.equal(edited.out, '2 42 index.js pkg other.js false object function');
  assert.deepEqual(edited.stats, { installed: true, hits: 1, misses: 1, rejected: 0 });
  const after = readdirSync(cache).sort();
  assert.equal(after.length, 2, `older version not removed: ${after.join(', ')}`);
  assert.notDeepEqual(after, before);
});

test('cached data V8 refuses (corrupt here) is replaced, and the code still runs', () => {
  const dir = project();
  const cache = join(dir, 'cache');
  run(dir, cache);
  for (const n of readdirSync(cache)) writeFileSync(join(cache, n), Buffer.alloc(64, 7));
  const r = run(dir, cache);
  assert.equal(r.out, '1 42 index.js pkg other.js false object function');
  assert.deepEqual(r.stats, { installed: true, hits: 0, misses: 0, rejected: 2 });
  assert.deepEqual(run(dir, cache).stats, { installed: true, hits: 2, misses: 0, rejected: 0 });
});

test('stack traces and syntax errors read as they do without the hook', () => {
  const dir = project();
  const pkg = join(dir, 'node_modules', 'pkg');
  writeFileSync(join(pkg, 'index.js'), '  throw new Error("first line");\n');
  const trace = (setting: string) => run(dir, setting).err.split('\n').find((l) => /index\.js:\d+:\d+/.test(l));
  assert.match(trace(join(dir, 'cache')) ?? '', /index\.js:1:9/);
  assert.equal(trace(join(dir, 'cache')), trace('0'));
  writeFileSync(join(pkg, 'index.js'), 'exports.x = (;\n');
  const withHook = run(dir, join(dir, 'cache'));
  const without = run(dir, '0');
  assert.notEqual(withHook.status, 0);
  assert.match(withHook.err, /SyntaxError/);
  assert.equal(withHook.err.split('\n').slice(0, 3).join('\n'), without.err.split('\n').slice(0, 3).join('\n'));
});

test('an unwritable cache still runs the code; CLGRPO_COMPILE_CACHE=0 turns the hook off', () => {
  const dir = project();
  // under a regular file: no directory can be made there, not even by root
  writeFileSync(join(dir, 'plain'), '');
  const r = run(dir, join(dir, 'plain', 'cache'));
  assert.equal(r.out, '1 42 index.js pkg other.js false object function');
  assert.deepEqual(r.stats, { installed: true, hits: 0, misses: 2, rejected: 0 });
  assert.deepEqual(run(dir, '0').stats, { installed: false, hits: 0, misses: 0, rejected: 0 });
});
