// Lint: determinism of workflow code is enforced by a tool, not by memory (STYLE.md 1).
import tseslint from 'typescript-eslint';

const banned = ['fs', 'fs/*', 'node:*', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net',
  'worker_threads', 'stream', 'util', 'events', 'timers', 'process', 'ajv', 'ajv/*', 'yaml',
  '@tensorflow/*', '@temporalio/activity', '@temporalio/worker', '@temporalio/client', 'sharp'];

// Layering (DESIGN.md §2): lib/ never imports activities/, workflows/ or the entry points (worker.ts
// and cli.ts inject what lib needs), and lib/plan depends on lib/spec, never the reverse.
const layering = [
  { regex: '^(\\.\\./)+(activities|workflows)(/|$)', message: 'lib/ must not import activities/ or workflows/: move the shared piece into lib/ (stage types: lib/stage, history names: lib/temporal).' },
  { regex: '^(\\.\\./)+(worker|cli)$', message: 'lib/ must not import the entry points: have worker.ts / cli.ts inject it (lib/cli/common.ts CliDeps).' },
];
const specNotPlan = { regex: '^\\.\\./plan(/|$)', message: 'lib/spec must not import lib/plan (plan depends on spec): move the shared piece into lib/spec.' };

export default tseslint.config(
  { ignores: ['tmp/**', 'bench/results/**', 'node_modules/**', '.tools/**', '.clgrpo/**', 'docs/**', 'test/replay/histories/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.json' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // node:test's test()/describe() return promises the runner tracks itself.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['lib/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layering }] },
  },
  {
    // The same rule again (a later config replaces it, it does not merge), plus the spec → plan ban.
    files: ['lib/spec/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...layering, specNotPlan] }] },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: banned, message: 'Workflow code must be deterministic: no Node builtins, I/O, ajv, yaml or TF.js in workflows/ (STYLE.md 1).' }] }],
      'no-restricted-globals': ['error', 'process', 'setInterval', 'require'],
    },
  },
);
