import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BACKEND_ORDER, initBackend, backendInfo, describeBackendChoice, parseBackendName, type BackendInfo } from '../../../lib/ml/backend';
import { ClgrpoError, ErrorType } from '../../../lib/errors';

test('TFJS_BACKEND values parse by alias; a wrong one is a ConfigError listing the valid ones', () => {
  assert.equal(parseBackendName('gpu'), 'tfjs-node-gpu');
  assert.equal(parseBackendName(' Node '), 'tfjs-node');
  assert.equal(parseBackendName('tensorflow'), 'tfjs-node');
  assert.equal(parseBackendName('wasm'), 'wasm');
  assert.throws(() => parseBackendName('webgpu'), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Config && /gpu, node, wasm, cpu/.test(e.message));
});

test('the choice is made once per process: later calls return it whatever they ask', async () => {
  const info = await initBackend({ env: { TFJS_BACKEND: 'wasm' } });
  assert.equal(info.name, 'wasm');
  assert.equal(info.forced, 'wasm');
  assert.equal(info, backendInfo());
  assert.equal(await initBackend({ env: { TFJS_BACKEND: 'cpu' } }), info, 'chosen once per process');
  assert.match(describeBackendChoice(), /backend: wasm \(forced by TFJS_BACKEND=wasm\)/);
});

const BACKEND_TS = path.resolve(__dirname, '../../../lib/ml/backend.ts').replace(/\\/g, '/');
const NATIVE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** initBackend() in a fresh process; with `hideNative`, requiring the native bindings fails there whether or not they are installed. */
function backendInChild(env: NodeJS.ProcessEnv, hideNative = false): BackendInfo {
  const hide = hideNative ? `const M = require('module'); const resolve = M._resolveFilename;
    M._resolveFilename = function (req, ...rest) {
      if (${JSON.stringify(NATIVE)}.includes(req)) throw Object.assign(new Error('Cannot find module ' + req + ' (hidden by the test)'), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, req, ...rest);
    };` : '';
  const script = `${hide}\nrequire('${BACKEND_TS}').initBackend().then((i) => console.log(JSON.stringify(i)))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BackendInfo;
}

test('without TFJS_BACKEND and without native bindings, the choice falls through to wasm and records why each failed', () => {
  const env = { ...process.env };
  delete env.TFJS_BACKEND;
  const info = backendInChild(env, true);
  assert.equal(info.name, 'wasm');
  assert.equal(info.tfBackend, 'wasm');
  assert.equal(info.forced, undefined);
  assert.deepEqual(info.failed, NATIVE.map((m, i) => ({ name: BACKEND_ORDER[i], reason: `Cannot find module ${m} (hidden by the test)` })));
  assert.ok(info.fixes.includes('UnsortedSegmentSum:js'), info.fixes.join(', '));
  assert.match(describeBackendChoice(info), /backend: wasm; .*tfjs-node-gpu unavailable: Cannot find module @tensorflow\/tfjs-node-gpu \(hidden by the test\); tfjs-node unavailable: /);
});

test('TFJS_BACKEND=cpu forces the cpu backend in a fresh process', () => {
  const info = backendInChild({ ...process.env, TFJS_BACKEND: 'cpu' });
  assert.equal(info.name, 'cpu');
  assert.equal(info.tfBackend, 'cpu');
  assert.equal(info.forced, 'cpu');
  assert.deepEqual(info.failed, []);
});

/** Why the native addon cannot load here, or undefined (the set-up builds it where it can: scripts/native-tfjs.js). */
function nativeUnavailable(): string | undefined {
  const r = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  return r.status === 0 ? undefined : (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`).trim();
}
const noNative = nativeUnavailable();

test('TFJS_BACKEND=node forces the native backend in a fresh process; the log line names it and the CPU kind', { skip: noNative && `native backend not built here (${noNative})` }, () => {
  const info = backendInChild({ ...process.env, TFJS_BACKEND: 'node' });
  assert.equal(info.name, 'tfjs-node');
  assert.equal(info.tfBackend, 'tensorflow');
  assert.equal(info.forced, 'node');
  assert.deepEqual(info.failed, []);
  assert.deepEqual(info.fixes, []);
  assert.match(describeBackendChoice(info), /^TF\.js 4\.22\.0 backend: tfjs-node \(forced by TFJS_BACKEND=node\); threads: \d+; cpu: .+ \(isa ([0-9a-f]{12}|x64)\)$/);
});

test('the native package present but its addon missing (deps wiped by npm ci): tfjs-node fails with its reason and wasm is chosen', () => {
  // A require that throws like tfjs-node's own loader does when lib/napi-v8/tfjs_binding.node is absent.
  const env = { ...process.env };
  delete env.TFJS_BACKEND;
  const script = `const M = require('module'); const load = M._load;
    M._load = function (req, ...rest) {
      if (req === '@tensorflow/tfjs-node') throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: x');
      if (req === '@tensorflow/tfjs-node-gpu') throw new Error('Cannot find module @tensorflow/tfjs-node-gpu');
      return load.call(this, req, ...rest);
    };
    require('${BACKEND_TS}').initBackend().then((i) => console.log(JSON.stringify(i)))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BackendInfo;
  assert.equal(info.name, 'wasm');
  assert.deepEqual(info.failed, [
    { name: 'tfjs-node-gpu', reason: 'Cannot find module @tensorflow/tfjs-node-gpu' },
    { name: 'tfjs-node', reason: 'The Node.js native addon module (tfjs_binding.node) can not be found at path: x' },
  ]);
  assert.match(describeBackendChoice(info), /backend: wasm; .*tfjs-node unavailable: The Node.js native addon module/);
});
