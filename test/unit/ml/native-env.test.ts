// The TF environment defaults (native-env.ts): one intra-op thread and log level 2 unless set; an
// explicit value wins; the thread count as TF will read it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NATIVE_ENV_DEFAULTS, applyNativeEnvDefaults, tfIntraOpThreads } from '../../../lib/ml/native-env';

test('defaults fill what is unset and keep what is set', () => {
  const env: NodeJS.ProcessEnv = {};
  applyNativeEnvDefaults(env);
  assert.deepEqual(env, { ...NATIVE_ENV_DEFAULTS });
  assert.equal(env.TF_NUM_INTRAOP_THREADS, '1');
  const mine: NodeJS.ProcessEnv = { TF_NUM_INTRAOP_THREADS: '4', TF_CPP_MIN_LOG_LEVEL: '0' };
  applyNativeEnvDefaults(mine);
  assert.deepEqual(mine, { TF_NUM_INTRAOP_THREADS: '4', TF_CPP_MIN_LOG_LEVEL: '0' });
});

test('tfIntraOpThreads: a positive integer, else 0 (TF default)', () => {
  assert.equal(tfIntraOpThreads({ TF_NUM_INTRAOP_THREADS: '3' }), 3);
  assert.equal(tfIntraOpThreads({}), 0);
  assert.equal(tfIntraOpThreads({ TF_NUM_INTRAOP_THREADS: 'two' }), 0);
  assert.equal(tfIntraOpThreads({ TF_NUM_INTRAOP_THREADS: '0' }), 0);
});
