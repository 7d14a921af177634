// Layering (DESIGN.md §2, issue 11 item 10): lib/ never imports activities/, workflows/ or the entry
// points (worker.ts and cli.ts inject what lib needs); lib/plan depends on lib/spec, never the
// reverse; and the types that had hand copies have one definition. Checked two ways: the import
// graph read from the sources, and the ESLint rule in eslint.config.mjs (so the rule itself is tested).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import type { PipelineInput as WorkflowInput, PipelineResult as WorkflowResult } from '../../workflows/pipeline';
import type { PipelineInput, PipelineResult } from '../../lib/temporal/status';
import type { TrainOptions } from '../../lib/ml/train-loop';
import type { PretrainParamsResolved, SftParamsResolved } from '../../lib/spec/spec-types.generated';

const ROOT = resolve(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const rel = (p: string): string => relative(ROOT, p).split(sep).join('/');

/** Relative module specifiers of a file (static imports, re-exports, require, dynamic import). */
function specifiers(src: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*|\brequire\(\s*|\bimport\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;
  for (let m = re.exec(src); m; m = re.exec(src)) out.push(m[1]);
  return out;
}

/** Every relative import in lib/ as [importing file, imported path], both repo-relative. */
function libImports(): [string, string][] {
  return tsFiles(join(ROOT, 'lib')).flatMap((f) =>
    specifiers(readFileSync(f, 'utf8')).map((s): [string, string] => [rel(f), rel(resolve(dirname(f), s))]));
}

test('no lib/ file imports activities/, workflows/ or the entry points', () => {
  const bad = libImports().filter(([, to]) => /^(activities|workflows)(\/|$)/.test(to) || /^(worker|cli)(\.ts)?$/.test(to));
  assert.deepEqual(bad, []);
});

test('lib/plan depends on lib/spec, never the reverse (no folder cycle)', () => {
  const edges = libImports();
  const specToPlan = edges.filter(([from, to]) => from.startsWith('lib/spec/') && to.startsWith('lib/plan'));
  assert.deepEqual(specToPlan, []);
  assert.ok(edges.some(([from, to]) => from.startsWith('lib/plan/') && to.startsWith('lib/spec')), 'plan uses spec');
});

const eslint = new ESLint({ cwd: ROOT });
const ruleByDir = new Map<string, Promise<unknown>>();

/** The `no-restricted-imports` settings eslint.config.mjs gives a path (cached per folder). */
function ruleFor(file: string): Promise<unknown> {
  const dir = dirname(file);
  if (!ruleByDir.has(dir)) {
    ruleByDir.set(dir, eslint.calculateConfigForFile(file).then((c: { rules: Record<string, unknown> }) => c.rules['no-restricted-imports']));
  }
  return ruleByDir.get(dir) as Promise<unknown>;
}

/** That rule applied to `code` (syntax only: no type information needed for imports). */
async function lintImports(file: string, code: string): Promise<string[]> {
  const rule = await ruleFor(file);
  if (!rule) return [];
  const linter = new Linter({ configType: 'flat' });
  const msgs = linter.verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: { 'no-restricted-imports': rule as Linter.RuleEntry } }], { filename: 'x.ts' });
  return msgs.map((m) => `${m.line}: ${m.message}`);
}

test('the ESLint rule rejects lib → activities/workflows/entry points and spec → plan', async () => {
  const probe = ["import type { StageContext } from '../../activities/types';", "import { X } from '../../workflows/names';",
    "import { startWorker } from '../../worker';", "import type { Plan } from '../plan/types';", "import { ok } from '../temporal/names';"].join('\n');
  const inCli = await lintImports('lib/cli/probe.ts', probe);
  assert.deepEqual(inCli.map((m) => m.split(':')[0]), ['1', '2', '3'], inCli.join('\n'));
  const inSpec = await lintImports('lib/spec/probe.ts', probe);
  assert.deepEqual(inSpec.map((m) => m.split(':')[0]), ['1', '2', '3', '4'], inSpec.join('\n'));
  assert.deepEqual(await lintImports('lib/ml/grpo/probe.ts', "import type { ProgressDetails } from '../../../activities/types';").then((m) => m.length), 1);
});

test('the ESLint rule finds nothing in lib/ as it is', async () => {
  const problems: string[] = [];
  for (const f of tsFiles(join(ROOT, 'lib'))) {
    for (const m of await lintImports(rel(f), readFileSync(f, 'utf8'))) problems.push(`${rel(f)}:${m}`);
  }
  assert.deepEqual(problems, []);
});

/** Files that declare `name` at top level (export or not) in lib/, workflows/, activities/ and the roots. */
function declarers(name: string): string[] {
  const files = [...['lib', 'workflows', 'activities'].flatMap((d) => tsFiles(join(ROOT, d))), join(ROOT, 'worker.ts'), join(ROOT, 'cli.ts')];
  const re = new RegExp(`^(export )?(declare )?(const|let|type|interface|function|class|enum) ${name}\\b`, 'm');
  return files.filter((f) => re.test(readFileSync(f, 'utf8'))).map(rel);
}

test('stage and status types, history names and prompt versions have one definition each', () => {
  const once: Record<string, string> = {
    StageState: 'lib/temporal/status.ts', StageStatus: 'lib/temporal/status.ts', PipelineStatus: 'lib/temporal/status.ts',
    PipelineState: 'lib/temporal/status.ts', StageContext: 'lib/stage/types.ts', ProgressDetails: 'lib/stage/types.ts',
    StageOutput: 'lib/stage/types.ts', ResolvedInput: 'lib/stage/types.ts', Logger: 'lib/stage/types.ts', ACTIVITY_NAMES: 'lib/stage/types.ts',
    PIPELINE_TASK_QUEUE: 'lib/temporal/names.ts', SEARCH_ATTRIBUTES: 'lib/temporal/names.ts', STATUS_QUERY: 'lib/temporal/names.ts',
    defaultStageConcurrency: 'lib/stage/isolation.ts', stageIsolation: 'lib/stage/isolation.ts',
    STAGE_KINDS: 'lib/spec/kinds.ts', ARTIFACT_KINDS: 'lib/spec/kinds.ts',
    TASK_PROMPT_VERSION: 'lib/ml/prompt.ts', TEACHER_PROMPT_VERSION: 'lib/teachers/prompt.ts',
  };
  for (const [name, file] of Object.entries(once)) assert.deepEqual(declarers(name), [file], name);
  // Two different prompts, two names: the ambiguous one is gone.
  assert.deepEqual(declarers('PROMPT_VERSION'), []);
});

test('the training loop options come from the schema-generated params, not a hand copy', () => {
  const src = readFileSync(join(ROOT, 'lib/ml/train-loop.ts'), 'utf8');
  assert.doesNotMatch(src, /interface TrainOptions/);
  assert.match(src, /PretrainParamsResolved/);
});

test('CLI set-up lives once: argv parsing in args.ts, the no-server message and the worker start in common/cli.ts', () => {
  const cli = tsFiles(join(ROOT, 'lib', 'cli')).map((f) => [rel(f), readFileSync(f, 'utf8')] as const);
  const where = (re: RegExp): string[] => cli.filter(([, s]) => re.test(s)).map(([f]) => f);
  // parseArgv's result handling (print help or usage, return the code) is `parse`, in args.ts.
  assert.deepEqual(where(/\.exitCode === 0 \? console\.log/), ['lib/cli/args.ts']);
  assert.deepEqual(where(/no Temporal server is running for/), ['lib/cli/common.ts']);
  assert.deepEqual(where(/\bcreateActivities\(/), []);
});

// Compile-time checks (tsc -p . covers test/): the types shared across the layers agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: [Same<PipelineInput, WorkflowInput>, Same<PipelineResult, WorkflowResult>,
  Same<TrainOptions['lr'], PretrainParamsResolved['lr']>,
  // sft runs the same loop: its resolved params carry the loop's fields (its steps derive from epochs).
  Pick<SftParamsResolved, 'batchSize' | 'lr' | 'warmupSteps' | 'weightDecay' | 'gradClip' | 'checkpointEvery' | 'keepCheckpoints'> extends Omit<TrainOptions, 'steps' | 'kind' | 'seed'> ? true : false] = [true, true, true, true];
void checks;
