import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignSplits, splitSizes, type SourceEntry, type SourceListing } from '../../../lib/ml/data/sources';

function listing(perLabel: Record<string, number>): SourceListing {
  const all: SourceEntry[] = Object.entries(perLabel).flatMap(([label, n]) =>
    Array.from({ length: n }, (_, i) => ({ file: `/r/${label}/${i}`, rel: `${label}/${i}`, label, attributes: {} })));
  return { labels: Object.keys(perLabel).sort(), presplit: null, all, missing: [] };
}

void test('split sizes: exact counts when there is enough, proportions otherwise', () => {
  assert.deepEqual(splitSizes(100, { train: 50, val: 10, test: 20 }), { train: 50, val: 10, test: 20 });
  assert.deepEqual(splitSizes(55, { train: 4000, val: 500, test: 1000 }), { train: 40, val: 5, test: 10 });
  assert.deepEqual(splitSizes(3, { train: 8, val: 0, test: 2 }), { train: 2, val: 0, test: 1 });
  assert.deepEqual(splitSizes(13, { train: 100, val: 0, test: 1 }), { train: 12, val: 0, test: 1 });
  assert.deepEqual(splitSizes(2, { train: 5, val: 1, test: 1 }), { train: 2, val: 0, test: 0 });
});

void test('assignment is seeded, disjoint and complete', () => {
  const l = listing({ a: 30, b: 30, c: 30 });
  const x = assignSplits(l, { train: 60, val: 10, test: 20 }, 1);
  assert.deepEqual(x, assignSplits(l, { train: 60, val: 10, test: 20 }, 1));
  assert.notDeepEqual(x.train.map((e) => e.rel), assignSplits(l, { train: 60, val: 10, test: 20 }, 2).train.map((e) => e.rel));
  const rels = [...x.train, ...x.val, ...x.test].map((e) => e.rel);
  assert.equal(rels.length, 90);
  assert.equal(new Set(rels).size, 90);
});

void test('maxPerClass caps each class in each split; skipped entries feed later splits', () => {
  const l = listing({ a: 50, b: 4 });
  const x = assignSplits(l, { train: 20, val: 5, test: 5 }, 3, 6);
  const count = (es: SourceEntry[], label: string) => es.filter((e) => e.label === label).length;
  for (const s of ['train', 'val', 'test'] as const) {
    assert.ok(count(x[s], 'a') <= 6 && count(x[s], 'b') <= 6, s);
  }
  assert.equal(count(x.train, 'a'), 6);
  assert.equal(x.train.length, 10, 'train holds what the cap allows: 6 a + 4 b');
  assert.equal(x.val.length, 5);
  assert.equal(x.test.length, 5);
  assert.equal(new Set([...x.train, ...x.val, ...x.test].map((e) => e.rel)).size, 20);
});

void test('pre-split sources keep their splits, shuffled and capped', () => {
  const base = listing({ a: 10, b: 10 });
  const presplit = { train: base.all.slice(0, 12), val: base.all.slice(12, 15), test: base.all.slice(15) };
  const x = assignSplits({ ...base, presplit }, { train: 4, val: 10, test: 10 }, 5);
  assert.equal(x.train.length, 4);
  assert.ok(x.train.every((e) => presplit.train.includes(e)));
  assert.deepEqual(new Set(x.val), new Set(presplit.val));
  assert.deepEqual(new Set(x.test), new Set(presplit.test));
});
