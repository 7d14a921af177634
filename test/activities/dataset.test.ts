// The dataset stage on real files: synthetic generation and the folder / JSONL / EmoSet importers
// on tiny image trees made with sharp in a temp dir (with a corrupt JPEG and symlinks out of the root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runDatasetStage } from '../../activities/dataset';
import type { ProgressDetails, StageContext } from '../../activities/types';
import { openDataset } from '../../lib/ml/data/dataset';
import { sha256Hex } from '../../lib/canonical';
import { ErrorType } from '../../lib/errors';

function tmp(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `clgrpo-dsa-${tag}-`));
}

interface Harness { ctx: StageContext; beats: ProgressDetails[]; warnings: Array<[string, unknown]>; abort: AbortController }

function harness(params: Record<string, any>, opts: { seed?: number; dataRoot?: string } = {}): Harness {
  const beats: ProgressDetails[] = [];
  const warnings: Array<[string, unknown]> = [];
  const abort = new AbortController();
  const ctx: StageContext = {
    run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed: 7 },
    stage: { id: 'data', kind: 'dataset', key: 'k', params, seed: opts.seed ?? 7 },
    inputs: [], outDir: tmp('out'), workDir: tmp('work'), attempt: 1, workerIdentity: 'test',
    heartbeat: (d) => beats.push(d), signal: abort.signal,
    log: { info: () => {}, warn: (m, meta) => warnings.push([m, meta]), error: () => {} },
    env: { CLGRPO_DATA_ROOT: opts.dataRoot },
  };
  return { ctx, beats, warnings, abort };
}

const SYN = { source: 'synthetic', train: 24, val: 8, test: 8, imageSize: 32, noise: 0.15 };

function filesHash(dir: string): string {
  return sha256Hex(fs.readdirSync(dir).sort().map((f) => `${f}:${sha256Hex(fs.readFileSync(path.join(dir, f)))}`).join('\n'));
}

void test('synthetic: writes the artifact, reports counts and heartbeats, same seed same bytes', async () => {
  const a = harness(SYN);
  const out = await runDatasetStage(a.ctx);
  assert.equal(out.kind, 'dataset');
  assert.equal(out.metrics.train, 24);
  assert.equal(out.metrics.test, 8);
  const perClass = Object.entries(out.metrics).filter(([k]) => k.startsWith('train.class.')).reduce((s, [, v]) => s + v, 0);
  assert.equal(perClass, 24);
  assert.ok(out.metrics.noisyRate >= 0 && out.metrics.noisyRate < 0.5);
  assert.equal(a.beats.at(-1)?.step, 40);
  assert.equal(a.beats.at(-1)?.total, 40);
  const ds = openDataset(a.ctx.outDir);
  assert.equal(ds.meta.source, 'synthetic');
  assert.equal(ds.samples('val').length, 8);
  const b = harness(SYN);
  await runDatasetStage(b.ctx);
  assert.equal(filesHash(a.ctx.outDir), filesHash(b.ctx.outDir));
  const c = harness(SYN, { seed: 8 });
  await runDatasetStage(c.ctx);
  assert.notEqual(filesHash(a.ctx.outDir), filesHash(c.ctx.outDir));
});

void test('synthetic: a cancelled stage stops with a Cancelled error', async () => {
  const h = harness({ ...SYN, train: 2000 });
  h.abort.abort();
  await assert.rejects(runDatasetStage(h.ctx), (e: any) => e.type === ErrorType.Cancelled);
});

void test('bad params are ConfigErrors naming the param', async () => {
  await assert.rejects(runDatasetStage(harness({ ...SYN, source: 'folder' }).ctx), (e: any) => e.type === ErrorType.Config && /needs params\.root/.test(e.message));
  await assert.rejects(runDatasetStage(harness({ ...SYN, source: 'csv' }).ctx), (e: any) => e.type === ErrorType.Config && /unknown source "csv"/.test(e.message));
  await assert.rejects(runDatasetStage(harness({ ...SYN, noise: 2 }).ctx), (e: any) => /noise must be a number in \[0, 1\]/.test(e.message));
});

async function writeImage(file: string, w: number, h: number, color: [number, number, number], channels: 1 | 3 | 4 = 3): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const bg = channels === 4 ? { r: color[0], g: color[1], b: color[2], alpha: 1 } : { r: color[0], g: color[1], b: color[2] };
  let img = sharp({ create: { width: w, height: h, channels: channels === 4 ? 4 : 3, background: bg } });
  if (channels === 1) img = img.greyscale();
  await (file.endsWith('.png') ? img.png() : img.jpeg()).toFile(file);
}

/** data/pics/<label>/*.{jpg,png}: 4 per label for 3 labels, varied sizes and channel counts, one corrupt jpg. */
async function makeFolder(root: string): Promise<void> {
  const colors: Record<string, [number, number, number]> = { amusement: [250, 200, 40], fear: [20, 30, 90], sadness: [90, 90, 120] };
  for (const [label, c] of Object.entries(colors)) {
    for (let i = 0; i < 4; i++) {
      await writeImage(path.join(root, 'pics', label, `${i}.${i % 2 ? 'png' : 'jpg'}`), 40 + 10 * i, 30 + 7 * i, c, ([3, 1, 4, 3] as const)[i]);
    }
  }
  fs.writeFileSync(path.join(root, 'pics', 'fear', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]));
  fs.writeFileSync(path.join(root, 'pics', 'fear', 'notes.txt'), 'not an image');
}

void test('folder: imports one sub-folder per label, skips and counts a corrupt JPEG, splits deterministically', async () => {
  const root = tmp('root');
  await makeFolder(root);
  const params = { source: 'folder', root: 'pics', train: 8, val: 2, test: 3, imageSize: 16, noise: 0.15 };
  const h = harness(params, { dataRoot: root });
  const out = await runDatasetStage(h.ctx);
  assert.equal(out.metrics.listed, 13);
  assert.equal(out.metrics.skippedCorrupt, 1);
  assert.equal(out.metrics.train + out.metrics.val + out.metrics.test, 12);
  assert.equal(h.warnings.length, 1);
  assert.deepEqual((h.warnings[0][1] as any).firstSkipped, ['pics/fear/broken.jpg']);
  const ds = openDataset(h.ctx.outDir);
  assert.deepEqual(ds.meta.labels, ['amusement', 'awe', 'contentment', 'excitement', 'anger', 'disgust', 'fear', 'sadness']);
  assert.equal(ds.meta.imageSize, 16);
  const all = (['train', 'val', 'test'] as const).flatMap((s) => ds.samples(s).map((x) => ({ ...x, split: s })));
  for (const x of all) {
    assert.equal(x.labelId, ds.meta.labels.indexOf(x.label));
    assert.match(x.source as string, new RegExp(`^pics/${x.label}/`));
    const px = ds.image(x.split, x.index);
    // Index 1 of each label is greyscale: no palette.
    if (x.label === 'amusement') assert.match(x.caption, x.source?.endsWith('1.png') ? /^neutral colours, bright light, muted/ : /^warm colours, bright light, vivid/);
    if (x.label === 'fear' && !x.source?.endsWith('1.png')) assert.ok(px[2] > px[0] + 40, 'fear images are blue');
  }
  const again = harness(params, { dataRoot: root });
  await runDatasetStage(again.ctx);
  assert.equal(filesHash(h.ctx.outDir), filesHash(again.ctx.outDir));
  const other = harness(params, { dataRoot: root, seed: 99 });
  await runDatasetStage(other.ctx);
  assert.notDeepEqual(openDataset(other.ctx.outDir).samples('train').map((s) => s.source), ds.samples('train').map((s) => s.source));
});

void test('folder: maxPerClass caps each class; a split of only corrupt images is a ConfigError', async () => {
  const root = tmp('root');
  await makeFolder(root);
  const capped = harness({ source: 'folder', root: 'pics', train: 100, val: 0, test: 1, imageSize: 8, noise: 0, maxPerClass: 2 }, { dataRoot: root });
  const out = await runDatasetStage(capped.ctx);
  for (const l of ['amusement', 'fear', 'sadness']) assert.ok(out.metrics[`train.class.${l}`] <= 2 && out.metrics[`test.class.${l}`] <= 2, l);
  assert.ok(out.metrics.train >= 5 && out.metrics.train <= 6, `train ${out.metrics.train}: 2 per class, minus a corrupt one at most`);
  assert.equal(out.metrics.test, 1, 'a requested split keeps at least one sample');
  const badRoot = tmp('bad');
  for (const l of ['awe', 'anger']) {
    fs.mkdirSync(path.join(badRoot, 'x', l), { recursive: true });
    fs.writeFileSync(path.join(badRoot, 'x', l, 'a.jpg'), 'garbage');
  }
  await assert.rejects(runDatasetStage(harness({ source: 'folder', root: 'x', train: 1, val: 0, test: 1, imageSize: 8, noise: 0 }, { dataRoot: badRoot }).ctx),
    (e: any) => e.type === ErrorType.Config && /all 1 images of the train split failed to decode/.test(e.message));
});

void test('jsonl: image paths relative to the file, attributes recorded, missing images counted', async () => {
  const root = tmp('root');
  await writeImage(path.join(root, 'imgs', 'a.png'), 20, 20, [200, 40, 40]);
  await writeImage(path.join(root, 'imgs', 'b.jpg'), 20, 20, [40, 40, 200]);
  await writeImage(path.join(root, 'imgs', 'c.jpg'), 20, 20, [40, 200, 40]);
  fs.mkdirSync(path.join(root, 'lists'));
  fs.writeFileSync(path.join(root, 'lists', 'set.jsonl'), [
    { image: '../imgs/a.png', label: 'happy', attributes: { mood: 'sunny' } },
    { image: '../imgs/b.jpg', label: 'gloomy' },
    { image: '../imgs/c.jpg', label: 'happy' },
    { image: '../imgs/gone.jpg', label: 'gloomy' },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n\n');
  const h = harness({ source: 'jsonl', file: 'lists/set.jsonl', train: 2, val: 0, test: 1, imageSize: 8, noise: 0 }, { dataRoot: root });
  const out = await runDatasetStage(h.ctx);
  assert.equal(out.metrics.missing, 1);
  const ds = openDataset(h.ctx.outDir);
  assert.deepEqual(ds.meta.labels, ['gloomy', 'happy']);
  const all = [...ds.samples('train'), ...ds.samples('test')];
  assert.equal(all.length, 3);
  assert.deepEqual(all.find((s) => s.source === 'imgs/a.png')?.attributes, { mood: 'sunny' });
  fs.writeFileSync(path.join(root, 'lists', 'bad.jsonl'), '{"image": "../imgs/a.png", "label": "x"}\n{oops\n');
  await assert.rejects(runDatasetStage(harness({ source: 'jsonl', file: 'lists/bad.jsonl', train: 1, val: 0, test: 1, imageSize: 8, noise: 0 }, { dataRoot: root }).ctx),
    (e: any) => e.type === ErrorType.Config && /lists\/bad\.jsonl:2: not valid JSON/.test(e.message));
});

void test('emoset: reads the official split files and records annotation attributes', async () => {
  const root = tmp('root');
  const base = path.join(root, 'EmoSet-118K');
  const rows: Record<string, Array<[string, string, string]>> = { train: [], val: [], test: [] };
  let n = 0;
  for (const [split, labels] of Object.entries({ train: ['awe', 'anger', 'awe'], val: ['anger'], test: ['awe', 'disgust'] })) {
    for (const label of labels) {
      const name = `${label}_${n++}`;
      await writeImage(path.join(base, 'image', label, `${name}.jpg`), 24, 18, [120, 100, 80]);
      fs.mkdirSync(path.join(base, 'annotation', label), { recursive: true });
      fs.writeFileSync(path.join(base, 'annotation', label, `${name}.json`), JSON.stringify({
        emotion: label, brightness: 0.4, colorfulness: 0.7, scene: 'beach', object: ['dog', 'sky'], facial_expression: null, image_id: name,
      }));
      rows[split].push([label, `image/${label}/${name}.jpg`, `annotation/${label}/${name}.json`]);
    }
  }
  for (const s of ['train', 'val', 'test']) fs.writeFileSync(path.join(base, `${s}.json`), JSON.stringify(rows[s]));
  const h = harness({ source: 'emoset', root: 'EmoSet-118K', train: 2, val: 5, test: 5, imageSize: 8, noise: 0 }, { dataRoot: root });
  const out = await runDatasetStage(h.ctx);
  assert.deepEqual([out.metrics.train, out.metrics.val, out.metrics.test], [2, 1, 2]);
  const ds = openDataset(h.ctx.outDir);
  const t = ds.samples('test');
  assert.deepEqual(t.map((s) => s.label).sort(), ['awe', 'disgust']);
  assert.deepEqual(t[0].attributes, { brightness: 0.4, colorfulness: 0.7, scene: 'beach', object: ['dog', 'sky'] });
  assert.match(t[0].caption, /scene beach, object dog sky$/);
  assert.equal(ds.samples('val')[0].labelId, 4);
});

void test('paths that escape the data root are PathEscape errors', async () => {
  const root = tmp('root');
  const outside = tmp('outside');
  await writeImage(path.join(outside, 'amusement', 'x.png'), 10, 10, [1, 2, 3]);
  await makeFolder(root);
  fs.symlinkSync(outside, path.join(root, 'linked'));
  fs.symlinkSync(path.join(outside, 'amusement', 'x.png'), path.join(root, 'pics', 'fear', 'sneaky.png'));
  const run = (params: Record<string, unknown>) => runDatasetStage(harness({ train: 2, val: 0, test: 1, imageSize: 8, noise: 0, ...params }, { dataRoot: root }).ctx);
  const isEscape = (re: RegExp) => (e: any) => e.type === ErrorType.PathEscape && re.test(e.message);
  await assert.rejects(run({ source: 'folder', root: '../x' }), isEscape(/climbs out of the data root/));
  await assert.rejects(run({ source: 'folder', root: outside }), isEscape(/is absolute/));
  await assert.rejects(run({ source: 'folder', root: 'pics\0' }), isEscape(/contains a NUL byte/));
  await assert.rejects(run({ source: 'emoset', root: 'file:///etc' }), isEscape(/is a URL/));
  await assert.rejects(run({ source: 'folder', root: 'linked' }), isEscape(/is a symlink to .*outside the data root/));
  await assert.rejects(run({ source: 'folder', root: 'pics' }), isEscape(/sneaky\.png.*symlink/));
  fs.writeFileSync(path.join(root, 'list.jsonl'), `${JSON.stringify({ image: `../${path.basename(outside)}/amusement/x.png`, label: 'a' })}\n`);
  await assert.rejects(run({ source: 'jsonl', file: 'list.jsonl' }), isEscape(/list\.jsonl:1 image.*climbs out/));
});
