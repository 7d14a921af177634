// Writes a complete synthetic dataset artifact into a directory: the dataset stage uses it, and
// other layers' tests use it to make a tiny real dataset in a temp dir in milliseconds.
import { DEFAULT_IMAGE_SIZE, DEFAULT_NOISE, iterateSplit, type SyntheticOptions } from './synthetic';
import { LABELS } from './synthetic-rules';
import { SPLITS, SplitWriter, imageBytesOf, throwIfCancelled, writeMeta, type DatasetMeta, type Split } from './dataset';

export interface SyntheticDatasetOptions extends SyntheticOptions {
  seed: number;
  train: number;
  val: number;
  test: number;
}

export interface BuildProgress {
  step: number;
  total: number;
}

export interface SyntheticBuildResult {
  meta: DatasetMeta;
  /** Per split, samples per label. */
  perClass: Record<Split, Record<string, number>>;
  /** Per split, how many labels were replaced by a confusable class. */
  noisy: Record<Split, number>;
}

/**
 * The generation as steps: writes every split into `dir`, calling `onProgress` and checking
 * `signal` every `every` samples, and yielding there so an async caller can let the event loop run.
 */
function* buildSteps(dir: string, o: SyntheticDatasetOptions, onProgress: ((p: BuildProgress) => void) | undefined,
  signal: AbortSignal | undefined, every: number): Generator<void, SyntheticBuildResult> {
  const opts: SyntheticOptions = { imageSize: o.imageSize ?? DEFAULT_IMAGE_SIZE, noise: o.noise ?? DEFAULT_NOISE, ambiguity: o.ambiguity ?? 0 };
  const S = opts.imageSize as number;
  const counts: Record<Split, number> = { train: o.train, val: o.val, test: o.test };
  const total = o.train + o.val + o.test;
  const perClass = {} as Record<Split, Record<string, number>>;
  const noisy = {} as Record<Split, number>;
  let step = 0;
  for (const split of SPLITS) {
    const w = new SplitWriter(dir, split, imageBytesOf(S));
    perClass[split] = Object.fromEntries(LABELS.map((l) => [l, 0]));
    noisy[split] = 0;
    try {
      for (const s of iterateSplit(o.seed, split, counts[split], opts)) {
        w.add({ label: s.label, labelId: s.labelId, attributes: s.attributes, caption: s.caption, noisy: s.noisy, image: s.image });
        perClass[split][s.label]++;
        if (s.noisy) noisy[split]++;
        if (++step % every === 0) {
          yield;
          throwIfCancelled(signal, `synthetic dataset (${split} ${step}/${total})`);
          onProgress?.({ step, total });
        }
      }
    } finally {
      w.close();
    }
  }
  const meta: DatasetMeta = { labels: [...LABELS], imageSize: S, channels: 3, splits: counts, source: 'synthetic', noise: opts.noise as number };
  writeMeta(dir, meta);
  onProgress?.({ step: total, total });
  return { meta, perClass, noisy };
}

/** Generate every split into `dir`, synchronously (tests and tools; a stage uses the async form). */
export function writeSyntheticDataset(dir: string, o: SyntheticDatasetOptions,
  onProgress?: (p: BuildProgress) => void, signal?: AbortSignal, every = 256): SyntheticBuildResult {
  const it = buildSteps(dir, o, onProgress, signal, every);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * The same bytes as writeSyntheticDataset, but yielding to the event loop every `every` samples, so
 * heartbeats actually leave the process and a cancellation arrives during a long generation.
 */
export async function writeSyntheticDatasetAsync(dir: string, o: SyntheticDatasetOptions,
  onProgress?: (p: BuildProgress) => void, signal?: AbortSignal, every = 256): Promise<SyntheticBuildResult> {
  const it = buildSteps(dir, o, onProgress, signal, every);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
