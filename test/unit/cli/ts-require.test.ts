// bin/ts-require.js, the TypeScript hook of the CLI and the stage threads (issue 14: tsx's hook also
// ran every node_modules .js file through it, ~0.5 s of each `clgrpo run`). In real child processes:
// a .ts file runs (types stripped, imports compiled to CommonJS, parameter properties, import() of
// a package); its compiled form is cached and reused without loading esbuild; an edited file is
// recompiled and its older cache file removed; a thrown error's stack names the .ts line; and an
// unwritable cache still runs the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOOK = join(__dirname, '..', '..', '..', 'bin', 'ts-require.js');

function run(file: string, cache: string, extra: string[] = []): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...extra, '-r', HOOK, file], { encoding: 'utf8', env: { ...process.env, CLGRPO_TS_CACHE: cache } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const SOURCE = (v: number) => `import { join } from 'node:path';
class Box { constructor(readonly value: number) {} }
type T = { n: number };
const t: T = { n: new Box(${v}).value };
void import('node:os').then((os) => console.log(join('a', 'b'), t.n, typeof os.cpus));
`;

test('a .ts file runs and its compiled form is cached, reused, replaced when edited', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-ts-require-'));
  const cache = join(dir, 'cache');
  const file = join(dir, 'main.ts');
  writeFileSync(file, SOURCE(1));
  assert.deepEqual(run(file, cache), { status: 0, out: 'a/b 1 function\n', err: '' });
  const first = readdirSync(cache);
  assert.equal(first.length, 1);
  // A hit must not load esbuild: make it unloadable and run again.
  writeFileSync(join(dir, 'no-esbuild.js'), "const M = require('module'); const l = M._load; M._load = function (r, ...a) { if (r === 'esbuild') throw new Error('esbuild loaded'); return l.call(this, r, ...a); };\n");
  const hit = run(file, cache, ['--require', join(dir, 'no-esbuild.js')]);
  assert.equal(hit.status, 0, hit.err);
  assert.equal(hit.out, 'a/b 1 function\n');
  writeFileSync(file, SOURCE(2));
  assert.equal(run(file, cache).out, 'a/b 2 function\n');
  const second = readdirSync(cache);
  assert.equal(second.length, 1, `older version not removed: ${second.join(', ')}`);
  assert.notDeepEqual(second, first);
});

test('a thrown error names the .ts line, not the compiled one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-ts-require-'));
  const file = join(dir, 'throws.ts');
  writeFileSync(file, 'interface P {\n  a: number;\n}\nconst f = (p: P): number => {\n  throw new Error(`boom ${p.a}`);\n};\nf({ a: 1 });\n');
  const r = run(file, join(dir, 'cache'));
  assert.notEqual(r.status, 0);
  assert.match(r.err, /Error: boom 1/);
  assert.match(r.err, new RegExp(`${file.replace(/[.]/g, '\\.')}:5:`), r.err);
});

test('an unwritable cache still runs the code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-ts-require-'));
  // under a regular file: no directory can be made there, not even by root
  writeFileSync(join(dir, 'plain'), '');
  const file = join(dir, 'main.ts');
  writeFileSync(file, SOURCE(3));
  assert.deepEqual(run(file, join(dir, 'plain', 'cache')), { status: 0, out: 'a/b 3 function\n', err: '' });
});
