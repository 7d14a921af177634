// Effective keys (data fingerprints folded into the keys of data stages and their dependents) and
// the pure sha256 the workflow computes them with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { effectiveKeys, dataAncestors } from '../../../lib/plan/effective-key';
import type { Plan, PlanStage } from '../../../lib/plan/types';
import { sha256HexPure } from '../../../lib/sha256';

void test('sha256HexPure equals node:crypto on edge lengths and non-ASCII text', () => {
  const cases = ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(63), 'a'.repeat(64), 'é😀\u0000x'.repeat(40), randomBytes(3000).toString('base64')];
  for (const c of cases) assert.equal(sha256HexPure(c), createHash('sha256').update(c).digest('hex'), `length ${c.length}`);
});

function st(id: string, inputs: string[], readsData = false): PlanStage {
  return { id, baseId: id, kind: 'dataset', needs: inputs, inputs: inputs.map((f) => ({ input: 'dataset', from: f, kind: 'dataset' })), params: {}, seed: 1,
    output: 'dataset', queue: 'cpu', retry: { maximumAttempts: 1, initialIntervalMs: 1, backoffCoefficient: 1, maximumIntervalMs: 1 },
    timeouts: { startToCloseMs: 1, heartbeatMs: 1 }, key: `k-${id}`, keyParts: { params: '', inputs: '', code: '' }, ...(readsData ? { readsData: true as const } : {}) };
}

const PLAN = { planVersion: 1, name: 'p', specHash: 'h', seed: 1, maxParallel: 1,
  stages: [st('imp', [], true), st('syn', []), st('a', ['imp']), st('b', ['syn']), st('c', ['a', 'b'])] } as Plan;

void test('stages without data upstream keep their plan keys; data stages and their dependents move with the fingerprint', () => {
  const k1 = effectiveKeys(PLAN, { imp: 'f'.repeat(64) });
  const k2 = effectiveKeys(PLAN, { imp: 'e'.repeat(64) });
  assert.equal(k1.get('syn'), 'k-syn');
  assert.equal(k1.get('b'), 'k-b');
  for (const id of ['imp', 'a', 'c']) {
    assert.notEqual(k1.get(id), `k-${id}`);
    assert.notEqual(k1.get(id), k2.get(id), id);
  }
  assert.deepEqual(effectiveKeys(PLAN, { imp: 'f'.repeat(64) }), k1, 'deterministic');
});

void test('without a fingerprint, a data stage and its dependents have no key yet', () => {
  const k = effectiveKeys(PLAN, {});
  assert.deepEqual([...k.keys()], ['syn', 'b']);
  assert.deepEqual(dataAncestors(PLAN, 'c'), ['imp']);
  assert.deepEqual(dataAncestors(PLAN, 'b'), []);
});
