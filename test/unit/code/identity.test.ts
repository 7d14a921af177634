// Code identity: what a stage kind's key follows. Fixture repos in temp dirs show the rules (comments,
// whitespace and type-only imports do not count; code does; only the kinds that reach an edited file
// move); a copy of this repo shows that editing a file only `pretrain` reaches re-keys pretrain and
// its dependents and nothing else; code-reach.golden.json pins which kinds each source file reaches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { changedFiles, codeIdentities, identityOf, PROJECT_ROOT } from '../../../lib/code/identity';
import { ModuleGraph } from '../../../lib/code/module-graph';
import { loadAndCompile } from '../../../lib/plan';
import { STAGE_KINDS } from '../../../lib/plan/types';

function fixtureRepo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'clgrpo-code-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x', version: '0.0.0', dependencies: { sharp: '9.9.9' } }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const FILES = {
  'activities/alpha.ts': "import { f } from '../lib/shared';\nimport type { T } from '../lib/types-only';\nexport const run = (t: T) => f(1);\n",
  'activities/beta.ts': "import { g } from '../lib/beta-only';\nimport { f } from '../lib/shared';\nimport sharp from 'sharp';\nexport const run = () => g(f(2), sharp);\n",
  'lib/shared.ts': 'export function f(x: number): number {\n  return x * 2;\n}\n',
  'lib/beta-only.ts': "export * from './beta-deep';\nexport const g = (a: number, _s: unknown) => a + 1;\n",
  'lib/beta-deep.ts': 'export const deep = 3;\n',
  'lib/types-only.ts': 'export interface T { a: number }\n',
};

void test('the graph follows runtime imports (re-exports too), not type-only ones, and records numeric packages', () => {
  const root = fixtureRepo(FILES);
  try {
    const g = new ModuleGraph(root);
    const alpha = identityOf(g, 'alpha');
    const beta = identityOf(g, 'beta');
    assert.deepEqual(Object.keys(alpha.files), ['activities/alpha.ts', 'lib/shared.ts']);
    assert.deepEqual(Object.keys(beta.files), ['activities/beta.ts', 'lib/beta-deep.ts', 'lib/beta-only.ts', 'lib/shared.ts']);
    assert.deepEqual(alpha.packages, {});
    assert.deepEqual(beta.packages, { sharp: '9.9.9' }); // not installed in the fixture: the pinned version
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('comments, whitespace and types do not change a file\'s identity; code does', () => {
  const root = fixtureRepo(FILES);
  try {
    const before = identityOf(new ModuleGraph(root), 'alpha');
    writeFileSync(join(root, 'lib/shared.ts'), '// doubles x\nexport function f(x: number):   number {\n\n  /* why */ return x * 2; // twice\n}\n');
    assert.equal(identityOf(new ModuleGraph(root), 'alpha').hash, before.hash);
    writeFileSync(join(root, 'lib/shared.ts'), 'export function f(x: number): number {\n  return x * 3;\n}\n');
    const after = identityOf(new ModuleGraph(root), 'alpha');
    assert.notEqual(after.hash, before.hash);
    assert.deepEqual(changedFiles(before, after), ['lib/shared.ts']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('editing a file only one kind reaches changes only that kind; the stat cache sees the edit', () => {
  const root = fixtureRepo(FILES);
  try {
    const g = new ModuleGraph(root, join(root, '.cache.json'));
    const a0 = identityOf(g, 'alpha').hash;
    const b0 = identityOf(g, 'beta').hash;
    g.save();
    writeFileSync(join(root, 'lib/beta-deep.ts'), 'export const deep = 4;\n');
    // A new graph on the saved cache: the edited file's stat differs, so it is hashed again.
    const g2 = new ModuleGraph(root, join(root, '.cache.json'));
    assert.equal(identityOf(g2, 'alpha').hash, a0);
    assert.notEqual(identityOf(g2, 'beta').hash, b0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A copy of the repo's sources (node_modules linked) to edit without touching the checkout. */
function repoCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'clgrpo-repo-'));
  for (const d of ['activities', 'lib', 'workflows', 'schemas']) cpSync(join(PROJECT_ROOT, d), join(root, d), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

void test('in this repo, editing a file only pretrain reaches re-keys pretrain and its dependents, nothing else', () => {
  const root = repoCopy();
  try {
    const before = codeIdentities(STAGE_KINDS, new ModuleGraph(root));
    const onlyPretrain = Object.keys(before.pretrain.files).filter((f) => STAGE_KINDS.every((k) => k === 'pretrain' || !(f in before[k].files)));
    assert.ok(onlyPretrain.includes('activities/pretrain.ts'), `files only pretrain reaches: ${onlyPretrain.join(', ')}`);
    const file = join(root, 'activities/pretrain.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nexport const __edited = 1;\n`);
    const after = codeIdentities(STAGE_KINDS, new ModuleGraph(root));
    const moved = STAGE_KINDS.filter((k) => before[k].hash !== after[k].hash);
    assert.deepEqual(moved, ['pretrain']);
    const hashes = (ids: typeof before) => Object.fromEntries(STAGE_KINDS.map((k) => [k, ids[k].hash])) as Record<(typeof STAGE_KINDS)[number], string>;
    const spec = join(PROJECT_ROOT, 'test', 'fixtures', 'specs', 'good', 'golden.yaml');
    const p0 = loadAndCompile(spec, { code: hashes(before) });
    const p1 = loadAndCompile(spec, { code: hashes(after) });
    const rekeyed = p1.stages.filter((s, i) => s.key !== p0.stages[i].key).map((s) => s.id);
    assert.deepEqual(rekeyed, ['base', 'sft', 'grpo_fmt', 'grpo_full', 'clgrpo', 'baseline', 'eval']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const GOLDEN_REACH = join(__dirname, 'code-reach.golden.json');

/** Which kinds each source file reaches: the committed map shows what a change to a file re-runs. */
function reachMap(): Record<string, string[]> {
  const ids = codeIdentities(STAGE_KINDS, new ModuleGraph(PROJECT_ROOT));
  const map: Record<string, string[]> = {};
  for (const k of STAGE_KINDS) for (const f of Object.keys(ids[k].files)) (map[f] ??= []).push(k);
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : 1)));
}

void test('golden: which stage kinds a change to each source file reaches (UPDATE_GOLDEN=1 rewrites it)', () => {
  const now = reachMap();
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN_REACH, `{\n${Object.entries(now).map(([f, k]) => `  ${JSON.stringify(f)}: ${JSON.stringify(k)}`).join(',\n')}\n}\n`);
  const pinned = JSON.parse(readFileSync(GOLDEN_REACH, 'utf8')) as Record<string, string[]>;
  assert.deepEqual(now, pinned, 'the kinds a file reaches changed: check the diff is intended, then rerun with UPDATE_GOLDEN=1');
  // Spot checks that read as documentation.
  assert.deepEqual(pinned['lib/teachers/attributes.ts'], ['cot']);
  assert.deepEqual(pinned['lib/ml/data/sources.ts'], ['dataset']);
  assert.ok(pinned['lib/ml/model.ts'].includes('pretrain') && pinned['lib/ml/model.ts'].includes('grpo') && !pinned['lib/ml/model.ts'].includes('cot'));
});
