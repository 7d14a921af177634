// The example pipelines and the good fixtures validate and compile, with no errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../../../lib/cli/validate';
import { formatLocated } from '../../../lib/spec';
import { loadAndCompile } from '../../../lib/plan';

const ROOT = join(__dirname, '..', '..', '..');
const specs = [
  ...readdirSync(join(ROOT, 'pipelines')).filter((f) => f.endsWith('.yaml')).map((f) => join(ROOT, 'pipelines', f)),
  ...readdirSync(join(ROOT, 'test', 'fixtures', 'specs', 'good')).filter((f) => f.endsWith('.yaml')).map((f) => join(ROOT, 'test', 'fixtures', 'specs', 'good', f)),
];

void test('the four example pipelines exist', () => {
  for (const name of ['demo', 'clgrpo-synthetic', 'emoset', 'ablation-clip']) {
    assert.ok(specs.some((s) => s.endsWith(`pipelines/${name}.yaml`)), name);
  }
});

for (const file of specs) {
  void test(`valid: ${file.slice(ROOT.length + 1)}`, () => {
    const r = check(file, []);
    assert.deepEqual(r.errors.map(formatLocated), []);
    const text = readFileSync(file, 'utf8');
    if (file.includes('/pipelines/')) {
      assert.match(text, /^# \S+: /, 'opens with a comment saying what it runs');
      assert.match(text, /# yaml-language-server: \$schema=\.\.\/schemas\/pipeline\.v1\.schema\.json/);
    }
    assert.ok(loadAndCompile(file).stages.length > 0);
  });
}
