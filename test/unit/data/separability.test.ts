// Is the synthetic task learnable but not saturated? A nearest-centroid classifier on 4×4-pooled
// pixels must do clearly better than chance (1/8) yet far from perfect, and the attributes must
// explain the labels up to the noise rate (the ceiling an attribute reasoner can reach).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSplit } from '../../../lib/ml/data/synthetic';
import { labelFromAttributes, type SyntheticAttributes } from '../../../lib/ml/data/synthetic-rules';

/** Mean of each k×k block per channel, in [0, 1]. */
function poolImage(img: Uint8Array, S: number, k: number): Float64Array {
  const o = S / k;
  const f = new Float64Array(k * k * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const b = (Math.floor(y / o) * k + Math.floor(x / o)) * 3;
      for (let c = 0; c < 3; c++) f[b + c] += img[(y * S + x) * 3 + c] / (255 * o * o);
    }
  }
  return f;
}

function nearestCentroidAccuracy(train: Array<{ x: Float64Array; y: number }>, test: Array<{ x: Float64Array; y: number }>, classes: number): number {
  const d = train[0].x.length;
  const C = Array.from({ length: classes }, () => new Float64Array(d));
  const n = new Array<number>(classes).fill(0);
  for (const s of train) { n[s.y]++; s.x.forEach((v, j) => { C[s.y][j] += v; }); }
  C.forEach((c, l) => c.forEach((_, j) => { c[j] /= Math.max(1, n[l]); }));
  let ok = 0;
  for (const s of test) {
    let best = -1, bd = Infinity;
    C.forEach((c, l) => {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (s.x[j] - c[j]) ** 2;
      if (dist < bd) { bd = dist; best = l; }
    });
    if (best === s.y) ok++;
  }
  return ok / test.length;
}

void test('nearest centroid on pooled pixels: above chance, far below perfect', () => {
  const toXY = (xs: ReturnType<typeof generateSplit>) => xs.map((s) => ({ x: poolImage(s.image, 32, 4), y: s.labelId }));
  const train = toXY(generateSplit(21, 'train', 1200));
  const test = toXY(generateSplit(21, 'test', 400));
  const acc = nearestCentroidAccuracy(train, test, 8);
  console.log(`nearest-centroid accuracy on 4x4-pooled pixels: ${acc.toFixed(3)} (chance 0.125)`);
  assert.ok(acc > 0.16, `accuracy ${acc} is not above chance`);
  assert.ok(acc < 0.6, `accuracy ${acc}: the task is too easy for pixel statistics`);
});

void test('the attributes explain the labels up to the noise rate', () => {
  const xs = generateSplit(22, 'train', 2000, { imageSize: 8, noise: 0.15 });
  const agree = xs.filter((s) => labelFromAttributes(s.attributes as SyntheticAttributes) === s.label).length / xs.length;
  assert.ok(Math.abs(agree - 0.85) < 0.03, `attribute reasoner ceiling ${agree}`);
});
