#!/usr/bin/env node
// Runs the test layers with Node's test runner (through tsx). `node scripts/test.js [layer...]`;
// layers: unit activities workflows replay e2e faults report. No argument runs all of them.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const LAYERS = ['unit', 'activities', 'workflows', 'replay', 'e2e', 'faults', 'report'];
const layers = process.argv.slice(2).length ? process.argv.slice(2) : LAYERS;

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  }).sort();
}

const files = layers.flatMap((l) => find(path.join(root, 'test', l)));
if (!files.length) {
  console.error(`no test files in: ${layers.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
  '--test-timeout=900000', ...files], { cwd: root, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
