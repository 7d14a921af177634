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
  data: 'b0c56facf78ab0b739d30168ac484593bfddd7c67a120a43ea5272fbbedc0a7e',
  base: '9c8626501b32f9d0d0e2a772921e2ff4767b84c3f057394082578e9920343081',
  cot: 'd6826252f5a1f91daab20c073c90e2559e8f9d3f001c1e5f504f1a20e0130488',
  sft: '0d246e142ca304cbcd70eef2a76cf0dfca792d04c3a3eca7f4286f059554e8a5',
  grpo_fmt: '2863d927c0fb5d6b3cad3d2ceaa5b01d65dfbb45763326e26e6003f201d81fe3',
  grpo_full: '6983355a74603ca1eb6d4927964f2f214bdc959aebd19607ae2418a61b625bb2',
  clgrpo: '16e4099e0b803874b21e44c7ccf8ce84245bde211a44e90753a6e38e66d7bb84',
  baseline: 'ff175422972b2f12ad8bfb0a20045a2c5fecb94a7f4e05020d8effe5079955cf',
  eval: '72f8636b7ecd5b2c51bb8d3f3a54283cb254b9f4110edd09ee558d995ebd4a70',
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
  assert.equal(keys['clgrpo[clip.high=0.05]'], '16f171549bb07a16be570100c273161502051eb7de3106d3a5241c3ea673a386');
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
