// Matrix expansion helpers: cell order, consistent combination of upstream variants, ids, paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine, compatible, contextSeed, matrixCells, setPath, variantId, type Cell, type Variant } from '../../../lib/plan/matrix';
import { splitPath } from '../../../lib/plan/overrides';
import type { JsonValue } from '../../../lib/canonical';

void test('cells: key order × value order', () => {
  assert.deepEqual(matrixCells({ a: [1, 2], b: ['x', 'y'] }).map((c) => c.values),
    [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]);
  assert.deepEqual(matrixCells(undefined), [{ values: {} }]);
});

void test('combine keeps only consistent merges and drops duplicates', () => {
  const v = (id: string, ctx: [string, number][]): Variant => ({ baseId: id, id, ctx: new Map(ctx) });
  const base = [v('base[s=1]', [['data', 0]]), v('base[s=2]', [['data', 1]])];
  const cot = [v('cot[s=1]', [['data', 0]]), v('cot[s=2]', [['data', 1]])];
  const out = combine([base, cot]);
  assert.equal(out.length, 2);
  assert.ok(out.every((c) => c.size === 1));
  assert.equal(combine([[v('x', [['a', 0]])], [v('y', [['b', 1]])]])[0].size, 2);
  assert.ok(!compatible(new Map([['a', 0]]), new Map([['a', 1]])));
  assert.deepEqual(combine([]), [new Map()]);
});

void test('variant ids and seeds: a key two origins both vary is qualified', () => {
  const cells = new Map<string, Cell[]>([['data', matrixCells({ seed: [1, 2] })], ['clgrpo', matrixCells({ seed: [3], 'clip.high': [0.1] })]]);
  const of = (o: string) => cells.get(o) ?? [];
  const ctx = new Map([['data', 1], ['clgrpo', 0]]);
  assert.equal(variantId('clgrpo', ctx, of, ['data', 'clgrpo']), 'clgrpo[data.seed=2,clgrpo.seed=3,clip.high=0.1]');
  assert.equal(variantId('sft', new Map([['data', 0]]), of, ['data', 'clgrpo']), 'sft[seed=1]');
  assert.equal(variantId('base', new Map(), of, ['data']), 'base');
  assert.equal(contextSeed(ctx, of, ['data', 'clgrpo']), 3);
});

void test('setPath and splitPath handle dotted keys', () => {
  const p: Record<string, JsonValue> = { clip: { low: 0.2 } };
  setPath(p, 'clip.high', 0.1);
  setPath(p, 'a.b.c', 1);
  assert.deepEqual(p, { clip: { low: 0.2, high: 0.1 }, a: { b: { c: 1 } } });
  const spec: JsonValue = { stages: { x: { matrix: { 'clip.high': [0.1] } } } };
  assert.deepEqual(splitPath(spec, 'stages.x.matrix.clip.high'), ['stages', 'x', 'matrix', 'clip.high']);
  assert.deepEqual(splitPath(spec, 'stages.x.params.clip.high'), ['stages', 'x', 'params', 'clip', 'high']);
  assert.deepEqual(splitPath({ a: [10, 20] }, 'a.1'), ['a', 1]);
});
