// Golden stage keys: the keys of a frozen fixture spec are pinned, so any accidental change to
// canonical JSON, defaults, normalization, bindings or the key formula fails loudly. When a change
// is intended (a code version bumped, a default changed), update the pins and say why in the commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAndCompile } from '../../../lib/plan';
import { hashJson } from '../../../lib/canonical';
import { CODE_VERSIONS, REWARD_VERSIONS } from '../../../lib/plan/code-versions';
import { REWARD_VERSIONS as ML_REWARD_VERSIONS } from '../../../lib/ml/rewards';

const GOLDEN = join(__dirname, '..', '..', 'fixtures', 'specs', 'good', 'golden.yaml');

const PINNED: Record<string, string> = {
  data: 'b8de6e933cadbb9f725f4ce36963f408a9f6e447ea8f3ffe01ac8fdef7195b13',
  base: '66d7aff5221349b19cd0ab4ebfda8de47896fc30ec41ecbb36e9393f1503ebf9',
  cot: '031fd659686231ae642ec6ff1c8788175d20f5e06b538c9c1afb29ce1bd0358c',
  sft: 'c8ef56c9a421af1751e39d9c29dd1a5bce751b3b0d25d5403d1c46a217a371d8',
  grpo_fmt: 'd51e3886c9bef74e2a47ffef45b70b4dac4b312a101a4cf4888d86fab8b846bc',
  grpo_full: 'c0af4157250f238ae5f260561f7cd99fbb2a15593b4093dc6054c73f4be875d8',
  clgrpo: 'a68e5d8fd738d1927198a8f6589d2f0f04a8b192287daf7cc71ab3d0a65657ff',
  baseline: 'ae7daf96f48549c549d4b6f315c1fc9139951fb1789804b3317832d745bbe290',
  eval: 'f0b5a41c0f079f01228502c943efc5af886cb0ad6595e0e7b80b0c0f93338004',
};

void test('golden: the stage keys and spec hash of the fixture spec', () => {
  const plan = loadAndCompile(GOLDEN);
  assert.equal(plan.specHash, '2ef817de6c97dea03e01fbf1f8cd48d50ff4882bbe351edbf4fef25e443619d0');
  assert.deepEqual(Object.fromEntries(plan.stages.map((s) => [s.id, s.key])), PINNED);
});

void test('golden: matrix variants keep the pinned keys of their unswept twins', () => {
  const plan = loadAndCompile(GOLDEN, { set: ['stages.clgrpo.matrix={clip.high: [0.05, 0.1]}'] });
  const keys = Object.fromEntries(plan.stages.map((s) => [s.id, s.key]));
  assert.equal(keys['clgrpo[clip.high=0.1]'], PINNED.clgrpo);
  assert.equal(keys['clgrpo[clip.high=0.05]'], '1315534498f67298499692a2092418d1bc5575ec2a9b1a54918cfda8e029c09a');
  assert.equal(keys.grpo_full, PINNED.grpo_full);
});

void test('the key formula: sha256 of canonical {kind, params, seed, inputs (input keys), code}', () => {
  const plan = loadAndCompile(GOLDEN);
  const [data, base] = plan.stages;
  assert.equal(data.key, hashJson({ kind: 'dataset', params: data.params, seed: 7, inputs: [], code: { stage: CODE_VERSIONS.dataset } }));
  assert.equal(base.key, hashJson({ kind: 'pretrain', params: base.params, seed: 7, inputs: [{ input: 'dataset', key: data.key }],
    code: { stage: CODE_VERSIONS.pretrain } }));
  assert.equal(base.keyParts.inputs, hashJson([{ input: 'dataset', key: data.key }]));
  assert.equal(base.keyParts.params, hashJson({ params: base.params, seed: 7 }));
});

void test('the reward versions in stage keys mirror lib/ml/rewards', () => {
  assert.deepEqual(REWARD_VERSIONS, { ...ML_REWARD_VERSIONS });
  const plan = loadAndCompile(GOLDEN);
  const full = plan.stages.find((s) => s.id === 'grpo_full');
  assert.equal(full?.keyParts.code, hashJson({ stage: CODE_VERSIONS.grpo, 'reward.format': '1', 'reward.accuracy': '1' }));
});
