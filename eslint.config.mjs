// Lint: determinism of workflow code is enforced by a tool, not by memory (STYLE.md 1).
import tseslint from 'typescript-eslint';

const banned = ['fs', 'fs/*', 'node:*', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net',
  'worker_threads', 'stream', 'util', 'events', 'timers', 'process', 'ajv', 'ajv/*', 'yaml',
  '@tensorflow/*', '@temporalio/activity', '@temporalio/worker', '@temporalio/client', 'sharp'];

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
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: banned, message: 'Workflow code must be deterministic: no Node builtins, I/O, ajv, yaml or TF.js in workflows/ (STYLE.md 1).' }] }],
      'no-restricted-globals': ['error', 'process', 'setInterval', 'require'],
    },
  },
);
