// Table-driven: every file in test/fixtures/specs/bad/ carries its expected line, message fragment
// and (optionally) error type in a leading comment; the checker must report that problem there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { check } from '../../../lib/cli/validate';
import { formatLocated } from '../../../lib/spec';

const ROOT = join(__dirname, '..', '..', '..');
const DIR = join(ROOT, 'test', 'fixtures', 'specs', 'bad');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

function expectations(text: string): { line: number; fragment: string; type: string } {
  const line = /^# expect-line: (\d+)$/m.exec(text);
  const fragment = /^# expect: (.+)$/m.exec(text);
  assert.ok(line && fragment, 'fixture lacks its # expect / # expect-line header');
  return { line: Number(line[1]), fragment: fragment[1], type: /^# expect-type: (\S+)$/m.exec(text)?.[1] ?? 'SpecError' };
}

void test('there are at least 40 bad specs', () => {
  assert.ok(files.length >= 40, `only ${files.length} bad specs`);
});

for (const f of files) {
  void test(`bad spec ${f}`, () => {
    const want = expectations(readFileSync(join(DIR, f), 'utf8'));
    const r = check(join(DIR, f), []);
    assert.ok(r.errors.length > 0, 'expected the spec to be invalid');
    assert.equal(r.io, false);
    const hit = r.errors.find((e) => e.line === want.line && `${e.message} ${e.hint ?? ''}`.includes(want.fragment));
    assert.ok(hit, `no error on line ${want.line} mentioning "${want.fragment}"; got:\n${r.errors.map(formatLocated).join('\n')}`);
    assert.equal(hit.type, want.type);
    assert.ok(hit.col >= 1);
    // Every printed line has the documented shape: file:line:col path: message
    assert.match(formatLocated(hit), /^.+\.yaml:\d+:\d+ /);
  });
}

void test('the real CLI exits 1 on a bad spec, 0 on a good one, 2 on usage and I/O errors', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'clgrpo.js'), 'validate', ...args], { cwd: ROOT, encoding: 'utf8' });
  const bad = cli(join(DIR, 'typo-param.yaml'), '--json');
  assert.equal(bad.status, 1, bad.stderr);
  const out = JSON.parse(bad.stdout) as { valid: boolean; errors: { file: string; line: number; col: number; path: string; message: string; hint: string }[] };
  assert.equal(out.valid, false);
  assert.deepEqual(Object.keys(out.errors[0]).sort(), ['col', 'file', 'hint', 'line', 'message', 'path', 'type']);
  assert.equal(out.errors[0].path, 'stages.base.params.lerning_rate');
  assert.match(out.errors[0].hint, /did you mean 'lr'/);
  const good = cli(join(ROOT, 'pipelines', 'demo.yaml'));
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /valid/);
  assert.equal(cli().status, 2);
  assert.equal(cli(join(DIR, 'does-not-exist.yaml')).status, 2);
  assert.equal(cli('--bogus', 'x.yaml').status, 2);
});
