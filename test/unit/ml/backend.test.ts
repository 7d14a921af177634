import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { initBackend, backendInfo, describeBackendChoice, parseBackendName } from '../../../lib/ml/backend';
import { ClgrpoError, ErrorType } from '../../../lib/errors';

test('TFJS_BACKEND values parse by alias; a wrong one is a ConfigError listing the valid ones', () => {
  assert.equal(parseBackendName('gpu'), 'tfjs-node-gpu');
  assert.equal(parseBackendName(' Node '), 'tfjs-node');
  assert.equal(parseBackendName('tensorflow'), 'tfjs-node');
  assert.equal(parseBackendName('wasm'), 'wasm');
  assert.throws(() => parseBackendName('webgpu'), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Config && /gpu, node, wasm, cpu/.test(e.message));
});

test('the default choice falls through the native bindings and records why each failed', async () => {
  const info = await initBackend({ env: {} });
  assert.equal(info, backendInfo());
  assert.equal(await initBackend({ env: { TFJS_BACKEND: 'cpu' } }), info, 'chosen once per process');
  if (info.name === 'wasm') {
    assert.deepEqual(info.failed.map((f) => f.name), ['tfjs-node-gpu', 'tfjs-node']);
    for (const f of info.failed) assert.ok(f.reason.length > 0);
    assert.ok(info.fixes.includes('UnsortedSegmentSum:js'));
  }
  assert.match(describeBackendChoice(), new RegExp(`backend: ${info.name}`));
});

test('TFJS_BACKEND=cpu forces the cpu backend in a fresh process', () => {
  const script = `require('${path.resolve(__dirname, '../../../lib/ml/backend.ts').replace(/\\/g, '/')}').initBackend().then((i) => console.log(JSON.stringify(i)))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, TFJS_BACKEND: 'cpu' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(info.name, 'cpu');
  assert.equal(info.tfBackend, 'cpu');
  assert.equal(info.forced, 'cpu');
  assert.deepEqual(info.failed, []);
});
