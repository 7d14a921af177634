#!/usr/bin/env node
// `npm run setup:python`: the project's Python env (PyTorch + transformers + TRL), shared by the TRL
// trainer (trainers/trl) and the bench's PyTorch yardstick (bench/reference). It is a venv in
// .tools/py-<first 12 hex of sha256(trainers/trl/requirements.lock)>/, so a changed lock file gets a
// new env and an old one is never half-upgraded. Steps: python3 -m venv, then
// `pip install --no-deps -r <lock>` (the lock pins every transitive dependency, so nothing is
// resolved at install time and the set is exactly the lock's), then `pip check`, then the marker file,
// written last (temp + rename): an env without it is unfinished and the next run continues it (pip
// skips what is already installed). Present → exits 0 at once. Not run by `npm test` or `npm run demo`
// (it downloads ~4 GB of wheels: torch's Linux wheel pulls CUDA libraries even for CPU use).
// Python missing or too old → one line saying what to install, exit 1.
// Also `node scripts/python-env.js --print` prints the env dir and whether it is ready (no install).
// lib/python-env.ts finds the env by the same rule (its test checks the two agree).
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const LOCK = path.join(root, 'trainers', 'trl', 'requirements.lock');
const MARKER = '.clgrpo-env-complete';
const MIN_PYTHON = [3, 10];

/** .tools/py-<hash>/ for the current lock file. */
function envDir(lockFile = LOCK) {
  const hash = crypto.createHash('sha256').update(fs.readFileSync(lockFile)).digest('hex').slice(0, 12);
  return path.join(root, '.tools', `py-${hash}`);
}

function log(msg) {
  console.error(`[setup:python] ${msg}`);
}

/** The first of $PYTHON, python3, python that runs, with its version. */
function findPython() {
  for (const cmd of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const r = spawnSync(cmd, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
    if (r.status === 0) return { cmd, version: r.stdout.trim() };
  }
  return null;
}

function run(cmd, args, what) {
  log(`${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  if (r.status !== 0) {
    log(`${what} failed (exit ${r.status ?? r.signal}); run \`npm run setup:python\` again to continue where it stopped`);
    process.exit(1);
  }
}

/** One installer per env at a time: a lock file holding the pid; a dead owner's lock is taken over. */
function takeLock(dir) {
  const lockPath = `${dir}.installing`;
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
  } catch {
    const pid = Number(fs.readFileSync(lockPath, 'utf8'));
    let alive = false;
    try { process.kill(pid, 0); alive = true; } catch { /* gone */ }
    if (alive && pid !== process.pid) {
      log(`another install of ${path.relative(root, dir)} is running (pid ${pid}); wait for it, then run again`);
      process.exit(1);
    }
    fs.writeFileSync(lockPath, String(process.pid));
  }
  return () => fs.rmSync(lockPath, { force: true });
}

function venvPython(dir) {
  return process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

/** Where pipelines/trl-tiny.yaml's `model` stage reads its base model (under the default data root). */
const TINY_VLM = path.join(root, 'data', 'fixtures', 'tiny-vlm');

/**
 * The tiny random-init Qwen2-VL fixture (trainers/trl/fixtures.py, deterministic bytes): built once
 * into a temp dir and renamed, so a half-built model dir is never seen by a `model` stage.
 */
function ensureFixture(python) {
  if (fs.existsSync(path.join(TINY_VLM, 'config.json'))) return;
  const tmp = `${TINY_VLM}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  run(python, ['-m', 'trainers.trl.fixtures', tmp, '--family', 'qwen2-vl'], `building the tiny Qwen2-VL fixture into ${path.relative(root, TINY_VLM)}`);
  fs.renameSync(tmp, TINY_VLM);
}

function main() {
  const dir = envDir();
  const ready = fs.existsSync(path.join(dir, MARKER));
  if (process.argv.includes('--print')) {
    console.log(JSON.stringify({ dir, ready }));
    return;
  }
  if (ready) {
    ensureFixture(venvPython(dir));
    return; // quick path: nothing to say when there is nothing to do
  }
  const py = findPython();
  if (!py) {
    log('Python 3 is missing: install python3 (3.10 or newer, with venv and pip, e.g. `apt-get install python3-venv`), then run `npm run setup:python`');
    process.exit(1);
  }
  const [maj, min] = py.version.split('.').map(Number);
  if (maj < MIN_PYTHON[0] || (maj === MIN_PYTHON[0] && min < MIN_PYTHON[1])) {
    log(`${py.cmd} is Python ${py.version}; PyTorch needs ${MIN_PYTHON.join('.')} or newer: install it (or set PYTHON=<path>), then run \`npm run setup:python\``);
    process.exit(1);
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const release = takeLock(dir);
  const t0 = Date.now();
  try {
    const python = venvPython(dir);
    // An unfinished env from an interrupted run is continued if its interpreter still works.
    if (fs.existsSync(dir) && spawnSync(python, ['-c', 'import pip'], { stdio: 'ignore' }).status !== 0) {
      log(`removing a broken unfinished env at ${path.relative(root, dir)}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (!fs.existsSync(dir)) run(py.cmd, ['-m', 'venv', dir], `creating a venv with Python ${py.version}`);
    log(`installing ${path.relative(root, LOCK)} into ${path.relative(root, dir)} (first time: ~4 GB of wheels, several minutes)`);
    run(python, ['-m', 'pip', 'install', '--no-deps', '--progress-bar', 'off', '-r', LOCK], 'pip install');
    run(python, ['-m', 'pip', 'check'], 'pip check');
    const info = { lock: path.relative(root, LOCK), python: py.version, seconds: Math.round((Date.now() - t0) / 1000), date: new Date().toISOString() };
    fs.writeFileSync(path.join(dir, `${MARKER}.tmp`), `${JSON.stringify(info)}\n`);
    fs.renameSync(path.join(dir, `${MARKER}.tmp`), path.join(dir, MARKER));
    log(`ready: ${path.relative(root, dir)} in ${info.seconds} s`);
    ensureFixture(python);
  } finally {
    release();
  }
}

module.exports = { envDir, MARKER };
if (require.main === module) main();
