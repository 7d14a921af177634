// Golden stage keys: the keys of a frozen fixture spec are pinned, so any accidental change to
// canonical JSON, defaults, normalization, bindings or the key formula fails loudly. The code part
// of each key is injected as a fixed per-kind string here (the real one follows the sources, see
// code-identity.test.ts), so these pins move only when the formula or the compiler changes.
// When a change is intended, update the pins and say why in the commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAndCompile } from '../../../lib/plan';
import { hashJson } from '../../../lib/canonical';
import { STAGE_KINDS, type StageKind } from '../../../lib/plan/types';

const GOLDEN = join(__dirname, '..', '..', 'fixtures', 'specs', 'good', 'golden.yaml');
const CODE = Object.fromEntries(STAGE_KINDS.map((k) => [k, hashJson({ fixture: k })])) as Record<StageKind, string>;

const PINNED: Record<string, string> = {
  data: '8a8e415b8bdd89d173b4454ba24a27aa3dec0810cd05460e1710505ece27ad3b',
  base: '97e51e9349077e485bd6b0d653c34f4485de135b34c0d5ed7d46238830a965ec',
  cot: 'e3e87158179f41a3a7d56de6540b0cfaeb33f5137a758252cfeca3953c3da4e3',
  sft: '92e41cc824e7024055b995b0768b46e71dee181711e77dbf3c23ffac4ef967f4',
  grpo_fmt: 'fa1e820011e43150d834af76e3dabb743e7a658bee549630c4b26093a457105b',
  grpo_full: 'dc57db49c55c5a90a328e991dd8ac46920a73e7edd9864dc448132c9a86a6986',
  clgrpo: '743cb1b070457251d0406a843d72858936a9d51359c5994bfe44770cf1c101ee',
  baseline: 'c6cc3b0612077fc3dba3cc59ad1cf443e76124077daa2fbe77790ad9e2a9b625',
  eval: 'fe8035b57a33f3c63b16bde0f89a01bfac88755eadde1e331ef017ee5a88b034',
};

void test('golden: the stage keys and spec hash of the fixture spec', () => {
  const plan = loadAndCompile(GOLDEN, { code: CODE });
  assert.equal(plan.specHash, '2ef817de6c97dea03e01fbf1f8cd48d50ff4882bbe351edbf4fef25e443619d0');
  assert.deepEqual(Object.fromEntries(plan.stages.map((s) => [s.id, s.key])), PINNED);
});

void test('golden: matrix variants keep the pinned keys of their unswept twins', () => {
  const plan = loadAndCompile(GOLDEN, { set: ['stages.clgrpo.matrix={clip.high: [0.05, 0.1]}'], code: CODE });
  const keys = Object.fromEntries(plan.stages.map((s) => [s.id, s.key]));
  assert.equal(keys['clgrpo[clip.high=0.1]'], PINNED.clgrpo);
  assert.equal(keys['clgrpo[clip.high=0.05]'], '50b4ad012ae681067fbcd3217fed64effda389c9b595eb5654b56aa82126d11c');
  assert.equal(keys.grpo_full, PINNED.grpo_full);
});

void test('the key formula: sha256 of canonical {kind, params, seed, inputs (input keys), code identity}', () => {
  const plan = loadAndCompile(GOLDEN, { code: CODE });
  const [data, base] = plan.stages;
  assert.equal(data.key, hashJson({ kind: 'dataset', params: data.params, seed: 7, inputs: [], code: CODE.dataset }));
  assert.equal(base.key, hashJson({ kind: 'pretrain', params: base.params, seed: 7, inputs: [{ input: 'dataset', key: data.key }], code: CODE.pretrain }));
  assert.equal(base.keyParts.inputs, hashJson([{ input: 'dataset', key: data.key }]));
  assert.equal(base.keyParts.params, hashJson({ params: base.params, seed: 7 }));
  assert.equal(base.keyParts.code, CODE.pretrain);
  // clgrpo is the grpo kind: it shares grpo's code identity.
  assert.equal(plan.stages.find((s) => s.id === 'clgrpo')?.keyParts.code, CODE.grpo);
});

void test('a kind\'s code identity moves only the keys of that kind and its dependents', () => {
  const before = loadAndCompile(GOLDEN, { code: CODE });
  const after = loadAndCompile(GOLDEN, { code: { ...CODE, pretrain: hashJson({ fixture: 'pretrain', edited: true }) } });
  const changed = after.stages.filter((s, i) => s.key !== before.stages[i].key).map((s) => s.id);
  // cot reads only the dataset: a pretrain edit leaves it (and data) reusable.
  assert.deepEqual(changed, ['base', 'sft', 'grpo_fmt', 'grpo_full', 'clgrpo', 'baseline', 'eval']);
  const codeChanged = after.stages.filter((s, i) => s.keyParts.code !== before.stages[i].keyParts.code).map((s) => s.id);
  assert.deepEqual(codeChanged, ['base']);
});
