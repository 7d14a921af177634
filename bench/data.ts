// Data-layer throughput: synthetic generation (render + write the artifact) and folder import
// (sharp decode + cover-resize + write), in samples per second, medians of a few repeats.
// Writes bench/results/data.json. Run: node --import tsx bench/data.ts [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeSyntheticDataset } from '../lib/ml/data/build-synthetic';
import { generateSplit } from '../lib/ml/data/synthetic';
import { importImages } from '../lib/ml/data/import';
import { assignSplits, listFolder } from '../lib/ml/data/sources';
import { openDataset } from '../lib/ml/data/dataset';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 2 : 5;
const SYN_N = quick ? 300 : 1500;
const IMPORT_N = quick ? 64 : 256;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function tmp(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `clgrpo-bench-${tag}-`));
}

async function timeIt(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A folder tree of IMPORT_N JPEGs (synthetic images upscaled to 128 px, like small real photos). */
async function makeFolder(root: string): Promise<void> {
  const xs = generateSplit(5, 'bench', IMPORT_N);
  await Promise.all(xs.map(async (s, i) => {
    const dir = path.join(root, 'pics', s.label);
    fs.mkdirSync(dir, { recursive: true });
    await sharp(Buffer.from(s.image), { raw: { width: 32, height: 32, channels: 3 } }).resize(128, 128).jpeg({ quality: 85 }).toFile(path.join(dir, `${i}.jpg`));
  }));
}

async function main(): Promise<void> {
  const synRates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const dir = tmp('syn');
    const s = await timeIt(() => writeSyntheticDataset(dir, { seed: r, train: SYN_N, val: 0, test: 0 }));
    synRates.push(SYN_N / s);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const root = tmp('root');
  await makeFolder(root);
  const importRates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const out = tmp('imp');
    const listing = listFolder(fs.realpathSync(root), 'pics');
    const splits = assignSplits(listing, { train: IMPORT_N, val: 0, test: 0 }, r);
    const s = await timeIt(() => importImages(out, splits, { imageSize: 32, labels: listing.labels, source: 'folder' }));
    importRates.push(IMPORT_N / s);
    if (openDataset(out).meta.splits.train !== IMPORT_N) throw new Error('import lost samples');
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.rmSync(root, { recursive: true, force: true });
  const result = {
    bench: 'data',
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, loadavg1: Number(os.loadavg()[0].toFixed(2)), node: process.version },
    repeats: REPEATS,
    synthetic: { samples: SYN_N, imageSize: 32, samplesPerSecMedian: Math.round(median(synRates)), samplesPerSec: synRates.map(Math.round) },
    folderImport: { samples: IMPORT_N, from: '128x128 JPEG', imageSize: 32, samplesPerSecMedian: Math.round(median(importRates)), samplesPerSec: importRates.map(Math.round) },
  };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'data.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
