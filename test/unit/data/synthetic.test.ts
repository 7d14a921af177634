import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captionOf, generateSplit, hsv } from '../../../lib/ml/data/synthetic';
import { LABELS, confusableLabels, labelFromAttributes, reasonFromAttributes, type SyntheticAttributes } from '../../../lib/ml/data/synthetic-rules';
import { polygonOf, polygonSdf } from '../../../lib/ml/data/render';

void test('a split is a pure function of (seed, split, options)', () => {
  const a = generateSplit(7, 'train', 20);
  const b = generateSplit(7, 'train', 20);
  assert.deepEqual(a, b);
  const c = generateSplit(8, 'train', 20);
  const d = generateSplit(7, 'val', 20);
  assert.notDeepEqual(a.map((s) => s.image), c.map((s) => s.image));
  assert.notDeepEqual(a.map((s) => s.image), d.map((s) => s.image));
  assert.equal(a[0].image.length, 32 * 32 * 3);
  assert.equal(generateSplit(7, 'train', 1, { imageSize: 48 })[0].image.length, 48 * 48 * 3);
});

void test('images use the range and are not blank', () => {
  for (const s of generateSplit(3, 'train', 16)) {
    let min = 255, max = 0;
    for (const v of s.image) { min = Math.min(min, v); max = Math.max(max, v); }
    assert.ok(max - min > 60, `contrast ${max - min}`);
  }
});

void test('every label occurs and the noise rate follows the parameter', () => {
  const n = 4000;
  for (const noise of [0, 0.15, 0.4]) {
    const xs = generateSplit(11, 'train', n, { imageSize: 8, noise });
    const noisy = xs.filter((s) => s.noisy);
    const rate = noisy.length / n;
    assert.ok(Math.abs(rate - noise) < 0.025, `noise ${noise}: measured ${rate}`);
    for (const s of xs) {
      const implied = labelFromAttributes(s.attributes as SyntheticAttributes);
      assert.equal(s.impliedLabel, implied);
      assert.equal(s.noisy, s.label !== implied);
      if (s.noisy) assert.ok(confusableLabels(implied).includes(s.label));
      assert.equal(s.labelId, LABELS.indexOf(s.label));
    }
    const counts = LABELS.map((l) => xs.filter((s) => s.label === l).length);
    for (const c of counts) assert.ok(c > n / 8 * 0.8 && c < n / 8 * 1.2, `counts ${counts}`);
  }
});

void test('ambiguity records one unclear attribute in the caption and the attributes', () => {
  const xs = generateSplit(5, 'train', 400, { imageSize: 8, ambiguity: 0.5 });
  const unclear = xs.filter((s) => Object.values(s.attributes).includes(null));
  assert.ok(unclear.length > 150 && unclear.length < 250, `${unclear.length}`);
  for (const s of unclear) {
    assert.equal(Object.values(s.attributes).filter((v) => v === null).length, 1);
    assert.match(s.caption, /unclear (palette|light|layout|edges|clutter|colour|scale)/);
  }
  // Some unclear attributes still leave the vote settled, some do not: the teacher must guess on those.
  const open = unclear.filter((s) => reasonFromAttributes(s.attributes).label === null).length;
  assert.ok(open > 0 && open < unclear.length, `${open} open of ${unclear.length}`);
});

void test('captions list the attribute phrases in a fixed order', () => {
  const s = generateSplit(2, 'train', 1)[0];
  assert.equal(s.caption, captionOf(s.attributes));
  assert.equal(s.caption.split(', ').length, 7);
});

void test('render helpers: hsv primaries and polygon signed distance', () => {
  assert.deepEqual(hsv(0, 1, 1), [1, 0, 0]);
  assert.deepEqual(hsv(120, 1, 1), [0, 1, 0]);
  assert.deepEqual(hsv(240, 1, 0.5), [0, 0, 0.5]);
  const sq = polygonOf('diamond', 2, 0);
  assert.ok(polygonSdf(0, 0, sq) < 0);
  assert.ok(polygonSdf(5, 0, sq) > 2.9 && polygonSdf(5, 0, sq) < 3.1);
  const star = polygonOf('star', 4, 0);
  assert.ok(polygonSdf(3.5, 0, star) < 0, 'tip of the star is inside');
  assert.ok(polygonSdf(3.5 * Math.cos(Math.PI / 5), 3.5 * Math.sin(Math.PI / 5), star) > 0, 'notch is outside');
});
