// The `dataset` stage kind: generates the synthetic task or imports a folder / JSONL / EmoSet
// layout into the dataset artifact (docs/CONTRACTS.md), reporting per-split and per-class counts.
// Params arrive resolved in the plan (no defaults applied here, except for the optional ones the
// schema leaves unset). Import paths are confined to the data root: ctx.env.CLGRPO_DATA_ROOT,
// else a `dataRoot` param when the plan carries one, else the worker's current directory.
import path from 'node:path';
import type { JsonObject } from '../lib/canonical';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { SPLITS, throwIfCancelled, type Split } from '../lib/ml/data/dataset';
import { writeSyntheticDatasetAsync } from '../lib/ml/data/build-synthetic';
import { importImages } from '../lib/ml/data/import';
import { realRoot } from '../lib/ml/data/paths';
import { assignSplits, listEmoset, loadAnnotations, listFolder, listJsonl, type SourceListing } from '../lib/ml/data/sources';
import type { StageContext, StageImplementation, StageOutput } from './types';

export const DATASET_SOURCES = ['synthetic', 'folder', 'jsonl', 'emoset'] as const;
export type DatasetSource = (typeof DATASET_SOURCES)[number];

export interface DatasetParams {
  source: DatasetSource;
  train: number;
  val: number;
  test: number;
  imageSize: number;
  noise: number;
  ambiguity?: number;
  root?: string;
  file?: string;
  maxPerClass?: number;
  dataRoot?: string;
}

function bad(msg: string): ClgrpoError {
  return new ClgrpoError(ErrorType.Config, `dataset stage: ${msg}`);
}

/** Checks the resolved params (the schema did most of it; this guards hand-made plans). */
export function readDatasetParams(p: JsonObject): DatasetParams {
  const source = (p.source ?? 'synthetic') as DatasetSource;
  if (!DATASET_SOURCES.includes(source)) throw bad(`unknown source "${String(p.source)}" (one of ${DATASET_SOURCES.join(', ')})`);
  const int = (k: string, min: number, dflt: number): number => {
    const v = p[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`${k} must be an integer ≥ ${min} (got ${JSON.stringify(v)})`);
    return v;
  };
  const frac = (k: string, dflt: number): number => {
    const v = p[k] ?? dflt;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(`${k} must be a number in [0, 1] (got ${JSON.stringify(v)})`);
    return v;
  };
  const str = (k: string): string | undefined => {
    const v = p[k];
    if (v !== undefined && typeof v !== 'string') throw bad(`${k} must be a string path (got ${JSON.stringify(v)})`);
    return v;
  };
  const out: DatasetParams = {
    source, train: int('train', 0, 4000), val: int('val', 0, 500), test: int('test', 0, 1000), imageSize: int('imageSize', 8, 32),
    noise: frac('noise', 0.15), ambiguity: frac('ambiguity', 0), root: str('root'), file: str('file'), dataRoot: str('dataRoot'),
    maxPerClass: p.maxPerClass === undefined ? undefined : int('maxPerClass', 1, 1),
  };
  if ((source === 'folder' || source === 'emoset') && !out.root) throw bad(`source ${source} needs params.root (a folder relative to the data root)`);
  if (source === 'jsonl' && !out.file) throw bad('source jsonl needs params.file (a .jsonl relative to the data root)');
  if (out.train + out.val + out.test === 0) throw bad('train + val + test is 0: nothing to write');
  return out;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, x) => a + x, 0);
}

/** Flat metrics: split sizes and `<split>.class.<label>` counts. */
function countMetrics(splits: Record<Split, number>, perClass: Record<Split, Record<string, number>>): Record<string, number> {
  const m: Record<string, number> = { ...splits };
  for (const s of SPLITS) for (const [label, n] of Object.entries(perClass[s])) m[`${s}.class.${label}`] = n;
  return m;
}

async function runSynthetic(ctx: StageContext, p: DatasetParams): Promise<StageOutput> {
  const res = await writeSyntheticDatasetAsync(ctx.outDir, {
    seed: ctx.stage.seed, train: p.train, val: p.val, test: p.test, imageSize: p.imageSize, noise: p.noise, ambiguity: p.ambiguity,
  }, (pr) => ctx.heartbeat({ ...pr, phase: 'generating' }), ctx.signal);
  const noisy = sum(res.noisy);
  const total = p.train + p.val + p.test;
  return {
    kind: 'dataset',
    metrics: { ...countMetrics(res.meta.splits, res.perClass), noisyLabels: noisy, noisyRate: total ? noisy / total : 0 },
    lineage: { source: 'synthetic', generator: 'synthetic-rules/v1', imageSize: p.imageSize, noise: p.noise, ambiguity: p.ambiguity ?? 0 },
    summary: { train: p.train, val: p.val, test: p.test, noisyRate: Number((total ? noisy / total : 0).toFixed(3)) },
  };
}

async function runImport(ctx: StageContext, p: DatasetParams): Promise<StageOutput> {
  const root = realRoot(ctx.env.CLGRPO_DATA_ROOT ?? p.dataRoot ?? process.cwd());
  let listing: SourceListing;
  if (p.source === 'folder') listing = listFolder(root, p.root as string);
  else if (p.source === 'jsonl') listing = listJsonl(root, p.file as string);
  else listing = listEmoset(root, p.root as string);
  throwIfCancelled(ctx.signal, `dataset stage '${ctx.stage.id}'`);
  const splits = assignSplits(listing, { train: p.train, val: p.val, test: p.test }, ctx.stage.seed, p.maxPerClass);
  loadAnnotations(splits);
  const res = await importImages(ctx.outDir, splits, {
    imageSize: p.imageSize, labels: listing.labels, source: p.source, signal: ctx.signal,
    onProgress: (pr) => ctx.heartbeat({ ...pr, phase: 'decoding' }),
  });
  const skipped = SPLITS.flatMap((s) => res.skipped[s]);
  if (skipped.length + listing.missing.length > 0) {
    ctx.log.warn(`dataset: skipped ${skipped.length} undecodable and ${listing.missing.length} missing images`, {
      stage: ctx.stage.id, firstSkipped: skipped.slice(0, 5), firstMissing: listing.missing.slice(0, 5),
    });
  }
  return {
    kind: 'dataset',
    metrics: { ...countMetrics(res.meta.splits, res.perClass), listed: listing.all.length, skippedCorrupt: skipped.length, missing: listing.missing.length },
    lineage: { source: p.source, path: (p.root ?? p.file) as string, labels: listing.labels, imageSize: p.imageSize, decoder: 'sharp' },
    summary: { ...res.meta.splits, skipped: skipped.length + listing.missing.length },
  };
}

export const runDatasetStage: StageImplementation = async (ctx) => {
  const p = readDatasetParams(ctx.stage.params);
  ctx.heartbeat({ step: 0, total: p.train + p.val + p.test, phase: p.source === 'synthetic' ? 'generating' : 'listing' });
  const out = p.source === 'synthetic' ? await runSynthetic(ctx, p) : await runImport(ctx, p);
  ctx.log.info(`dataset: wrote ${out.metrics.train}/${out.metrics.val}/${out.metrics.test} samples (${p.source})`, { stage: ctx.stage.id, dir: path.basename(ctx.outDir) });
  return out;
};
