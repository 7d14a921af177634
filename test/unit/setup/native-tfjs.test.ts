// scripts/native-tfjs.js decides from facts alone whether the set-up builds the native TF.js backend:
// CLGRPO_NATIVE=0 skips quietly; a missing package, another platform, no Python or no C++ toolchain
// fall back to wasm with a one-line reason; a recorded failure is not retried until CLGRPO_NATIVE=1.
// The headers it copies start from the binding's own `#include "tensorflow/..."` lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

type Plan = { action: 'skip' } | { action: 'fallback'; reason: string } | { action: 'build' };
interface Facts { env: Record<string, string | undefined>; platform: string; arch: string; python: string | null; cxx: boolean; make: boolean; pkgInstalled: boolean; priorFailure?: string }
interface Native { nativePlan(f: Facts): Plan; includeSeeds(src: string): string[] }
// A plain CommonJS script (run by setup.js before anything is compiled), loaded without running it.
const native = require(join(resolve(__dirname, '..', '..', '..'), 'scripts', 'native-tfjs.js')) as Native;

const OK: Facts = { env: {}, platform: 'linux', arch: 'x64', python: 'python3', cxx: true, make: true, pkgInstalled: true };

test('linux-x64 with Python and a toolchain builds', () => {
  assert.deepEqual(native.nativePlan(OK), { action: 'build' });
  assert.deepEqual(native.nativePlan({ ...OK, env: { CLGRPO_NATIVE: '1' } }), { action: 'build' });
});

test('CLGRPO_NATIVE=0 (or false/off/no) skips without a word', () => {
  for (const v of ['0', 'false', 'OFF', ' no ']) assert.deepEqual(native.nativePlan({ ...OK, env: { CLGRPO_NATIVE: v } }), { action: 'skip' });
});

test('each missing fact falls back to wasm with its reason', () => {
  const reason = (f: Partial<Facts>) => {
    const p = native.nativePlan({ ...OK, ...f });
    assert.equal(p.action, 'fallback');
    return (p as { reason: string }).reason;
  };
  assert.equal(reason({ pkgInstalled: false }), '@tensorflow/tfjs-node is not installed');
  assert.equal(reason({ platform: 'darwin', arch: 'arm64' }), 'built from source on linux-x64 only (this is darwin-arm64)');
  assert.equal(reason({ arch: 'arm64' }), 'built from source on linux-x64 only (this is linux-arm64)');
  assert.equal(reason({ python: null }), 'no python3 to download the tensorflow-cpu wheel');
  assert.equal(reason({ cxx: false }), 'no C++ toolchain (g++/c++ missing)');
  assert.equal(reason({ cxx: false, make: false }), 'no C++ toolchain (g++/c++, make missing)');
  assert.equal(reason({ priorFailure: 'node-gyp build failed: x' }), 'an earlier build failed (node-gyp build failed: x); CLGRPO_NATIVE=1 retries');
  assert.deepEqual(native.nativePlan({ ...OK, priorFailure: 'x', env: { CLGRPO_NATIVE: '1' } }), { action: 'build' });
});

test('header seeds are the quoted includes with a folder (the binding\'s own headers are not looked up in the wheel)', () => {
  const src = '#include "tensorflow/c/c_api.h"\n  #  include "tensorflow/core/platform/ctstring_internal.h"\n#include "utils.h"\n#include <node_api.h>\n';
  assert.deepEqual(native.includeSeeds(src), ['tensorflow/c/c_api.h', 'tensorflow/core/platform/ctstring_internal.h']);
});
