// The generated spec types are fresh; did-you-mean; the shared argv parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generate, GENERATED_PATH, SCHEMA_PATH } from '../../../lib/spec/gen-types';
import { editDistance, nearest } from '../../../lib/spec/suggest';
import { helpText, parseArgv, type CommandDef } from '../../../lib/cli/args';
import { PIPELINE_SCHEMA } from '../../../lib/spec/schema';

void test('spec-types.generated.ts matches the schema (run `npx tsx lib/spec/gen-types.ts` when this fails)', () => {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  assert.equal(readFileSync(GENERATED_PATH, 'utf8'), generate(schema));
});

void test('every schema field has a description, every string a maxLength, every array a maxItems', () => {
  const missing: string[] = [];
  const walk = (s: unknown, path: string, isField: boolean): void => {
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if (isField && typeof o.description !== 'string') missing.push(`${path}: description`);
    const types = Array.isArray(o.type) ? o.type : [o.type];
    if (types.includes('string') && o.maxLength === undefined) missing.push(`${path}: maxLength`);
    if (types.includes('array') && o.maxItems === undefined) missing.push(`${path}: maxItems`);
    if (o.additionalProperties && typeof o.additionalProperties === 'object' && o.maxProperties === undefined) missing.push(`${path}: maxProperties`);
    for (const [k, v] of Object.entries((o.properties ?? {}) as Record<string, unknown>)) walk(v, `${path}.${k}`, true);
    for (const k of ['items', 'additionalProperties']) walk(o[k], `${path}/${k}`, false);
    for (const k of ['anyOf', 'allOf']) if (Array.isArray(o[k])) (o[k] as unknown[]).forEach((b, i) => walk(b, `${path}/${k}/${i}`, false));
  };
  for (const [name, def] of Object.entries(PIPELINE_SCHEMA.$defs as Record<string, unknown>)) walk(def, name, true);
  walk(PIPELINE_SCHEMA, '#', true);
  assert.deepEqual(missing, []);
});

void test('edit distance and nearest names', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(nearest('datset', ['dataset', 'pretrain']), 'dataset');
  assert.equal(nearest('batch_size', ['batchSize', 'lr']), 'batchSize');
  assert.equal(nearest('learnig_rate', ['lr', 'steps']), 'lr');
  assert.equal(nearest('zzzzzz', ['dataset', 'pretrain']), undefined);
});

void test('argv parser: repeated --set, --json, --help, unknown flags and arity', () => {
  const def: CommandDef = { name: 'clgrpo x', summary: 's', positionals: ['spec'],
    flags: { set: { type: 'string', multiple: true, description: 'd' }, json: { type: 'boolean', description: 'j' } } };
  const ok = parseArgv(['a.yaml', '--set', 'a=1', '--set', 'b=2', '--json'], def);
  assert.ok(ok.ok);
  assert.deepEqual(ok.values.set, ['a=1', 'b=2']);
  assert.equal(ok.values.json, true);
  assert.deepEqual(ok.positionals, ['a.yaml']);
  const help = parseArgv(['--help'], def);
  assert.ok(!help.ok && help.exitCode === 0 && help.text === helpText(def));
  const unknown = parseArgv(['a.yaml', '--nope'], def);
  assert.ok(!unknown.ok && unknown.exitCode === 2 && /--nope/.test(unknown.text));
  const none = parseArgv([], def);
  assert.ok(!none.ok && none.exitCode === 2);
  const many = parseArgv(['a', 'b'], def);
  assert.ok(!many.ok && many.exitCode === 2);
});

void test('over-long words get no suggestion and cost nothing', () => {
  const t0 = performance.now();
  assert.equal(nearest('A'.repeat(250_000), ['dataset', 'pretrain']), undefined);
  assert.ok(performance.now() - t0 < 50);
});
