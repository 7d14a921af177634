// The lineage tree names who computed each artifact: the TRL trainer with its versions, device and
// dtype, or the TF.js backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computedBy } from '../../../lib/store/lineage';

void test('trl artifacts show trainer, versions, device and dtype; tfjs ones the backend', () => {
  assert.equal(computedBy({ trainer: 'trl', versions: { trl: '1.16.0', torch: '2.15.0', transformers: '5.24.0' }, device: 'cuda:0 NVIDIA H200', dtype: 'bfloat16' }),
    'trl 1.16.0 (torch 2.15.0, transformers 5.24.0) on cuda:0 NVIDIA H200, bfloat16');
  assert.equal(computedBy({ backend: { name: 'tfjs-node', tfBackend: 'tensorflow' } }), 'tfjs tfjs-node');
  assert.equal(computedBy({ backend: 'wasm' }), 'tfjs wasm');
  assert.equal(computedBy({ source: 'synthetic' }), undefined);
  assert.equal(computedBy(undefined), undefined);
});
