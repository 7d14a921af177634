import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { encodePng, openDataset, pngDataUrl } from '../../../lib/ml/data/dataset';
import { writeSyntheticDataset } from '../../../lib/ml/data/build-synthetic';
import { generateSplit } from '../../../lib/ml/data/synthetic';
import { sha256Hex } from '../../../lib/canonical';
import { ErrorType } from '../../../lib/errors';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-ds-'));
}

function hashDir(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, sha256Hex(fs.readFileSync(path.join(dir, f)))]));
}

void test('a synthetic dataset round-trips through the artifact files', () => {
  const dir = tmp();
  const progress: number[] = [];
  const res = writeSyntheticDataset(dir, { seed: 3, train: 40, val: 8, test: 12 }, (p) => progress.push(p.step), undefined, 16);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['images-test.u8', 'images-train.u8', 'images-val.u8', 'meta.json',
    'samples-test.jsonl', 'samples-train.jsonl', 'samples-val.jsonl']);
  assert.deepEqual(progress, [16, 32, 48, 60]);
  const ds = openDataset(dir);
  assert.deepEqual(ds.meta, res.meta);
  assert.deepEqual(ds.meta.splits, { train: 40, val: 8, test: 12 });
  const expected = generateSplit(3, 'train', 40);
  const train = ds.samples('train');
  assert.equal(train.length, 40);
  train.forEach((s, i) => {
    assert.equal(s.index, i);
    assert.equal(s.label, expected[i].label);
    assert.deepEqual(s.attributes, expected[i].attributes);
    assert.deepEqual(ds.image('train', i), expected[i].image);
    assert.equal(s.imageSha256, sha256Hex(expected[i].image));
  });
  const b = ds.batch('train', [5, 0]);
  assert.equal(b.length, 2 * 32 * 32 * 3);
  assert.equal(b[0], Math.fround(expected[5].image[0] / 255));
  assert.equal(b[3072 + 7], Math.fround(expected[0].image[7] / 255));
  assert.deepEqual([...ds.labelIds('train', [5, 0])], [expected[5].labelId, expected[0].labelId]);
  assert.throws(() => ds.image('val', 8), /val index 8 out of range/);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, x) => a + x, 0);
  assert.equal(sum(res.perClass.train), 40);
});

void test('the same seed writes the same bytes; another seed does not', () => {
  const a = tmp(), b = tmp(), c = tmp();
  writeSyntheticDataset(a, { seed: 1, train: 10, val: 2, test: 2 });
  writeSyntheticDataset(b, { seed: 1, train: 10, val: 2, test: 2 });
  writeSyntheticDataset(c, { seed: 2, train: 10, val: 2, test: 2 });
  assert.deepEqual(hashDir(a), hashDir(b));
  assert.notEqual(hashDir(a)['images-train.u8'], hashDir(c)['images-train.u8']);
});

void test('a truncated image file or a missing meta is reported, not misread', () => {
  const dir = tmp();
  writeSyntheticDataset(dir, { seed: 1, train: 4, val: 1, test: 1 });
  fs.truncateSync(path.join(dir, 'images-train.u8'), 100);
  const ds = openDataset(dir);
  assert.throws(() => ds.image('train', 0), (e: any) => e.type === ErrorType.ArtifactCorrupt && /images-train\.u8 has 100 bytes/.test(e.message));
  assert.throws(() => openDataset(tmp()), (e: any) => e.type === ErrorType.Config && /no meta\.json/.test(e.message));
});

void test('cancellation stops generation', () => {
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => writeSyntheticDataset(tmp(), { seed: 1, train: 100, val: 0, test: 0 }, undefined, ac.signal, 8), (e: any) => e.type === ErrorType.Cancelled);
});

void test('images encode to PNG that decodes to the same pixels', async () => {
  const s = generateSplit(4, 'train', 1)[0];
  const png = await encodePng(s.image, 32);
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 32);
  assert.equal(info.channels, 3);
  assert.deepEqual(new Uint8Array(data), s.image);
  assert.match(await pngDataUrl(s.image, 32), /^data:image\/png;base64,iVBOR/);
});
