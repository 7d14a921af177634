// FAULTS.md 1–10 (spec input): each case with its exact error type and location.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile, loadSpecText, type LocatedError } from '../../../lib/spec';
import { SpecError } from '../../../lib/spec/located';
import { compilePlan } from '../../../lib/plan';
import { MAX_SPEC_BYTES } from '../../../lib/spec/yaml-safe';

const OK = 'schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n';

function errorsOf(text: string): LocatedError[] {
  const r = loadSpecText(text, 'x.yaml');
  assert.ok('errors' in r, 'expected the spec to be rejected');
  return r.errors;
}

function at(errors: LocatedError[], line: number, col: number, re: RegExp, type = 'SpecError'): LocatedError {
  const e = errors.find((x) => x.line === line && x.col === col && re.test(`${x.message} ${x.hint ?? ''}`));
  assert.ok(e, `no ${re} at ${line}:${col}; got ${JSON.stringify(errors.map((x) => `${x.line}:${x.col} ${x.message}`))}`);
  assert.equal(e.type, type);
  return e;
}

/** 10,000 aliases to a 10-item list: as data, 10^4 × 10 values; as text, about 40 KiB. */
export function aliasBomb(): string {
  return `${OK}bomb: &a [x, x, x, x, x, x, x, x, x, x]\nalso: [${Array.from({ length: 10_000 }, () => '*a').join(', ')}]\n`;
}

void test('1. alias bomb: refused from the lexer tokens, before anything is composed or expanded', () => {
  const t0 = process.hrtime.bigint();
  const errors = errorsOf(aliasBomb());
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000);
  assert.equal(errors.length, 1);
  // tripped at the 101st anchor/alias: the anchor plus 100 aliases of `[*a, *a, ...`, 4 characters each
  at(errors, 6, 8 + 4 * 99, /more than 100 YAML anchors\/aliases/);
  // a few aliases are each reported where they are, with everything else in the file
  const few = errorsOf(`${OK}x: &a 1\ny: *a\nz: [*a, *a]\n`);
  at(few, 5, 4, /anchor &a is not allowed/);
  at(few, 6, 4, /alias \*a is not allowed/);
  at(few, 7, 9, /alias \*a is not allowed/);
});

void test('2. huge file refused before parsing; deep nesting and several documents located', () => {
  const huge = `${OK}description: "${'a'.repeat(1024 * 1024)}"\n`;
  at(errorsOf(huge), 1, 1, new RegExp(`over the ${MAX_SPEC_BYTES}-byte limit`));
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-spec-'));
  try {
    writeFileSync(join(dir, 'huge.yaml'), huge);
    const r = loadSpecFile(join(dir, 'huge.yaml'));
    assert.ok('errors' in r && !r.io, 'an oversized spec is invalid (exit 1), not an I/O error');
    at(r.errors, 1, 1, /over the 262144-byte limit/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const deep = `${OK}description: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  assert.ok(errorsOf(deep).some((e) => e.line === 5 && /nesting deeper than/.test(e.message)));
  at(errorsOf(`${OK}---\n${OK}`), 5, 1, /2 YAML documents/);
});

void test('3. duplicate keys and custom tags rejected with line:column', () => {
  at(errorsOf(`${OK}name: again\n`), 5, 1, /duplicate key 'name' \(first at line 2\)/);
  at(errorsOf(`${OK}description: !!js/function "function(){}"\n`), 5, 14, /tag !!js\/function is not allowed/);
  at(errorsOf(`${OK}description: !env HOME\n`), 5, 14, /tag !env is not allowed/);
  // loader problems do not hide the others: the duplicate, the tag and the typo all at once,
  // and the tagged (dropped) value does not also count as missing
  const all = errorsOf('schemaVersion: !!int 1\nname: t\nname: u\nstages:\n  data: { kind: dataset, params: { trian: 1 } }\n');
  at(all, 1, 16, /tag !!int is not allowed/);
  at(all, 3, 1, /duplicate key 'name'/);
  at(all, 5, 36, /unknown key 'trian'/);
  assert.equal(all.length, 3, JSON.stringify(all.map((e) => e.message)));
});

void test('4. __proto__ / constructor / prototype at any depth: rejected, nothing polluted', () => {
  const e1 = errorsOf(`${OK}__proto__: { polluted: true }\n`);
  at(e1, 5, 1, /'__proto__' is not allowed/);
  const e2 = errorsOf('schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset, params: { constructor: { prototype: { polluted: 1 } } } }\n');
  at(e2, 4, 36, /'constructor' is not allowed/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
});

void test('5. a typo in a key names the path and the fix', () => {
  const e = at(errorsOf('schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n  base:\n    kind: pretrain\n    needs: [data]\n    params: { learnig_rate: 0.1 }\n'),
    8, 15, /unknown key 'learnig_rate'/);
  assert.equal(e.path, 'stages.base.params.learnig_rate');
  assert.match(e.hint ?? '', /did you mean 'lr'/);
});

void test('6. wrong types are rejected, never coerced', () => {
  const errors = errorsOf('schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset, params: { train: "100", noise: yes } }\n  base: { kind: pretrain, needs: [data], params: { lr: "1e-4", steps: 10.5 } }\n');
  at(errors, 4, 43, /must be an integer \(got string "100"\)/);
  at(errors, 4, 57, /must be a number \(got string "yes"\)/);
  at(errors, 5, 56, /must be a number \(got string "1e-4"\)/);
  at(errors, 5, 71, /must be an integer \(got number 10.5\)/);
});

void test('7. cross-field rules: all at once, with numbers, the cycle path and the nearest name', () => {
  const text = ['schemaVersion: 1', 'name: t', 'stages:', '  data: { kind: dataset }', '  base: { kind: pretrain, needs: [data] }',
    '  a: { kind: sft, needs: [base, b, data] }', '  b: { kind: grpo, needs: [a], params: { rewards: [format], groupSize: 1, microBatch: 3, clip: { low: 1 } } }',
    '  c: { kind: eval, needs: [bsae, data] }', '  d: { kind: dataset }', ''].join('\n');
  const errors = errorsOf(text);
  at(errors, 7, 28, /cycle in needs: a → b → a/);
  at(errors, 7, 72, /groupSize is 1/);
  at(errors, 7, 87, /4 × 1 = 4 is not divisible by microBatch 3/);
  at(errors, 7, 103, /clip.low is 1; it must be in \(0, 1\)/);
  const near = at(errors, 8, 28, /no stage 'bsae'/);
  assert.match(near.hint ?? '', /did you mean 'base'/);
  // errors come sorted by position
  const offsets = errors.map((e) => e.offset);
  assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y));
  // two stages writing one output: found by the compiler (same stage key)
  const same = loadSpecText('schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n  data2: { kind: dataset }\n', 'y.yaml');
  assert.ok('spec' in same);
  const compiled = compilePlan(same.spec);
  assert.ok('errors' in compiled);
  at(compiled.errors, 5, 3, /'data' and 'data2' compile to the same stage key/);
});

void test('8. unknown stage kind or schemaVersion: rejected, valid values listed', () => {
  const errors = errorsOf('schemaVersion: 3\nname: t\nstages:\n  data: { kind: datasets }\n');
  at(errors, 1, 16, /must be 1 \(got 3\)/);
  const k = at(errors, 4, 17, /must be one of dataset, pretrain, cot, sft, grpo, clgrpo, eval/);
  assert.match(k.hint ?? '', /did you mean 'dataset'/);
});

void test('9. paths: .., absolute, NUL and URLs rejected as PathEscapeError', () => {
  const spec = (root: string) => `schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset, params: { source: folder, root: ${root} } }\n`;
  at(errorsOf(spec('../up')), 4, 58, /escapes its root/, 'PathEscapeError');
  at(errorsOf(spec('a/../../b')), 4, 58, /escapes its root/, 'PathEscapeError');
  at(errorsOf(spec('/abs')), 4, 58, /is absolute/, 'PathEscapeError');
  at(errorsOf(spec('"C:\\\\data"')), 4, 58, /is absolute/, 'PathEscapeError');
  at(errorsOf(spec('"a\\0b"')), 4, 58, /NUL/, 'PathEscapeError');
  at(errorsOf(spec('"file:///etc"')), 4, 58, /is a URL/, 'PathEscapeError');
  at(errorsOf('schemaVersion: 1\nname: t\nstages:\n  base: { kind: pretrain, params: { init: /ckpt } }\n'), 4, 43, /init is absolute/, 'PathEscapeError');
});

void test('10. a literal secret is rejected and never echoed', () => {
  const key = 'sk-live-0123456789abcdefghijklmnopqrstuv';
  const text = `schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n  cot:\n    kind: cot\n    needs: [data]\n    params:\n      teachers: [{ type: openai, model: m, baseUrl: "http://h/v1", apiKeyEnv: ${key} }]\n`;
  const errors = errorsOf(text);
  at(errors, 9, 79, /literal secret/);
  assert.ok(!JSON.stringify(errors).includes(key), 'the key must not appear in any error');
  assert.ok(!new SpecError(errors).message.includes(key));
  // a key named by env var is fine
  assert.ok('spec' in loadSpecText(text.replace(key, 'TEACHER_KEY'), 'x.yaml'));
});
