// Supervised examples and their batching. The batch of a step is a pure function of
// (seed, stage kind, step): epoch e = step ÷ batchesPerEpoch is shuffled by rngFor(seed, kind,
// 'shuffle', e), so a resumed run sees exactly the batches an uninterrupted one would — the data
// cursor is the step, and no data is skipped or repeated.
// Exports: SupervisedExample, batchSchedule, BatchSchedule, exampleImages, corpusForTokenizer, vocabSizeFor.
import * as tf from '@tensorflow/tfjs';
import { rngFor } from '../rng';
import type { Dataset, DatasetSample, Split } from './data/dataset';
import { compactRationale, RULES_TEXT } from './data/synthetic-rules';
import type { ModelSize } from './model-config';
import { tokenizerCorpus } from './prompt';

export interface SupervisedExample {
  /** Index of the image in the dataset split. */
  image: number;
  prompt: number[];
  /** Target tokens (ending with end of text); the loss covers these only. */
  completion: number[];
}

export interface BatchSchedule {
  batchesPerEpoch: number;
  /** Example indices of the batch at 0-based `step`, and the cursor it corresponds to. */
  at(step: number): { indices: number[]; epoch: number; batch: number };
}

export function batchSchedule(n: number, batchSize: number, seed: number, kind: string): BatchSchedule {
  if (n <= 0) throw new Error('no training examples');
  const bs = Math.min(batchSize, n);
  const batchesPerEpoch = Math.floor(n / bs);
  let cached: { epoch: number; order: number[] } | undefined;
  const orderOf = (epoch: number): number[] => {
    if (cached?.epoch !== epoch) {
      cached = { epoch, order: rngFor(seed, kind, 'shuffle', epoch).shuffle(Array.from({ length: n }, (_, i) => i)) };
    }
    return cached.order;
  };
  return {
    batchesPerEpoch,
    at(step) {
      const epoch = Math.floor(step / batchesPerEpoch);
      const batch = step % batchesPerEpoch;
      return { indices: orderOf(epoch).slice(batch * bs, (batch + 1) * bs), epoch, batch };
    },
  };
}

/** The image batch of some examples as a float [B, S, S, 3] tensor in [0, 1]. */
export function exampleImages(dataset: Dataset, split: Split, examples: SupervisedExample[]): tf.Tensor4D {
  const S = dataset.meta.imageSize;
  return tf.tensor4d(dataset.batch(split, examples.map((e) => e.image)), [examples.length, S, S, 3]);
}

/** Vocabulary sizes per model size (the tokenizer stops earlier when no pair repeats). */
export function vocabSizeFor(size: ModelSize): number {
  return { tiny: 512, small: 1024, base: 2048, large: 4096 }[size];
}

/** Text the tokenizer learns from: captions, labels, prompts, and (synthetic) compact chains. */
export function corpusForTokenizer(dataset: Dataset): string[] {
  const samples: DatasetSample[] = dataset.samples('train');
  const extra: string[] = [];
  if (dataset.meta.source === 'synthetic') {
    extra.push(RULES_TEXT);
    for (const s of samples) {
      try { extra.push(compactRationale(s.attributes as Record<string, string | null>)); } catch { /* attributes of another task */ }
    }
  }
  return tokenizerCorpus(samples, dataset.meta.labels, extra);
}
