#!/usr/bin/env node
// Runs the test layers with Node's test runner (through tsx). `node scripts/test.js [layer...]`;
// layers: unit activities workflows replay e2e faults report (node:test through tsx) and python
// (trainers/trl/tests with unittest in the project's Python env). No argument runs all of them.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const LAYERS = ['unit', 'activities', 'workflows', 'replay', 'e2e', 'faults', 'report', 'python'];
const layers = process.argv.slice(2).length ? process.argv.slice(2) : LAYERS;

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  }).sort();
}

/** The trainer's own suite (trainers/trl/tests, stdlib unittest) in the project's Python env. */
function runPython() {
  const { envDir, MARKER } = require('./python-env');
  const dir = envDir();
  const python = path.join(dir, 'bin', 'python');
  if (!fs.existsSync(path.join(dir, MARKER))) {
    console.error(`[test] python layer: no Python env at ${path.relative(root, dir)}: run \`npm run setup:python\` (npm test does it)`);
    return 1;
  }
  console.log(`\n== python layer: ${path.relative(root, python)} -m unittest discover -s trainers/trl/tests`);
  const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'trainers/trl/tests', '-t', '.'], { cwd: root, stdio: 'inherit', env: process.env });
  return r.status ?? 1;
}

const nodeLayers = layers.filter((l) => l !== 'python');
const files = nodeLayers.flatMap((l) => find(path.join(root, 'test', l)));
if (nodeLayers.length && !files.length) {
  console.error(`no test files in: ${nodeLayers.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const node = files.length ? spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
  '--test-timeout=900000', ...files], { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1 : 0;
// Run after the Node layers: both are CPU-bound and the machine may have two cores.
const py = layers.includes('python') ? runPython() : 0;
process.exit(node || py);
