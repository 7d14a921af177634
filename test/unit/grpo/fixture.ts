// Test fixture for the GRPO and eval tests (not a test file): a tiny synthetic dataset, a tokenizer
// learned from it, and a `tiny` model fine-tuned a few steps on chain-of-thought-format completions
// so that, sampled at temperature 1, only part of its completions have the format. That partial
// format rate is what a format-only GRPO run must raise. Everything is seeded; built with the real
// model, optimizer and model-io modules, written as real artifact directories.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { writeSyntheticDataset } from '../../../lib/ml/data/build-synthetic';
import { openDataset, type Dataset } from '../../../lib/ml/data/dataset';
import { imagesFor } from '../../../lib/ml/grpo/rollout';
import { completionTokensForText } from '../../../lib/ml/grpo/batch';
import { VlmModel, modelConfig } from '../../../lib/ml/model';
import { writeModelFiles } from '../../../lib/ml/model-io';
import { AdamW } from '../../../lib/ml/optimizer';
import { TASK_PROMPT, cotCompletion, encodeCompletion, encodePrompt, tokenizerCorpus } from '../../../lib/ml/prompt';
import { formatReward } from '../../../lib/ml/rewards';
import { generate } from '../../../lib/ml/sampling';
import { Tokenizer } from '../../../lib/ml/tokenizer';
import { rngFor } from '../../../lib/rng';

export interface TinyWorld {
  root: string;
  datasetDir: string;
  /** A model artifact dir (model.safetensors + config.json). */
  modelDir: string;
  dataset: Dataset;
  tokenizer: Tokenizer;
  /** Format rate of the fixture model, sampled at temperature 1 on a probe batch. */
  formatRate: number;
}

/** The COT completion the fixture model is fine-tuned on: a short think naming the label, then the answer. */
function cotFor(label: string): string {
  return cotCompletion(` ${label}`, label);
}

/** Format rate of `model` sampling 16 completions at temperature 1. */
export function probeFormatRate(model: VlmModel, ds: Dataset, tok: Tokenizer, seed = 99): number {
  const idx = Array.from({ length: 16 }, (_, i) => i % ds.meta.splits.train);
  const prompt = encodePrompt(tok, TASK_PROMPT);
  const images = imagesFor(ds, 'train', idx);
  const g = generate(model, images, idx.map(() => prompt), { maxNewTokens: 16, temperature: 1, rng: rngFor(seed, 'probe'), eos: tok.eos });
  images.dispose();
  const texts = g.tokens.map((t) => tok.decode(completionTokensForText(t, tok.eos)));
  return texts.reduce((a, t) => a + formatReward({ completion: t, label: '' }), 0) / texts.length;
}

/**
 * Builds the world in a fresh temp dir. SFT stops at the first probe whose format rate reaches
 * `minFormat` (checked every 5 steps), so the model is only partly formatted.
 */
export async function makeTinyWorld(opts: { seed?: number; minFormat?: number; maxSteps?: number } = {}): Promise<TinyWorld> {
  await initBackend();
  const seed = opts.seed ?? 5;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-grpo-'));
  const datasetDir = path.join(root, 'dataset');
  fs.mkdirSync(datasetDir);
  writeSyntheticDataset(datasetDir, { seed, train: 48, val: 8, test: 24 });
  const ds = openDataset(datasetDir);
  const train = ds.samples('train');
  const tok = Tokenizer.train(tokenizerCorpus(train, ds.meta.labels), 320);
  const model = VlmModel.create(modelConfig('tiny', tok.vocabSize, ds.meta.imageSize), rngFor(seed, 'init'));
  const opt = new AdamW({ weightDecay: 0 });
  const prompt = encodePrompt(tok, TASK_PROMPT);
  const shuffle = rngFor(seed, 'fixture-sft');
  let formatRate = probeFormatRate(model, ds, tok);
  for (let step = 0; step < (opts.maxSteps ?? 80) && formatRate < (opts.minFormat ?? 0.25); step++) {
    const idx = Array.from({ length: 12 }, () => shuffle.int(train.length));
    const images = imagesFor(ds, 'train', idx);
    const { grads } = tf.variableGrads(() => {
      const { logProbs, mask } = model.completionLogProbs(images, idx.map(() => prompt), idx.map((i) => encodeCompletion(tok, cotFor(train[i].label))));
      return tf.neg(tf.div(tf.sum(tf.mul(logProbs, mask)), tf.sum(mask))) as tf.Scalar;
    }, model.trainableVariables());
    images.dispose();
    const byName = new Map([...model.params].map(([n, v]) => [n, grads[v.name]] as const));
    opt.apply(model.params, byName, 3e-3);
    tf.dispose(Object.values(grads));
    if ((step + 1) % 5 === 0) formatRate = probeFormatRate(model, ds, tok);
  }
  const modelDir = path.join(root, 'model');
  writeModelFiles(modelDir, model, tok);
  model.dispose();
  opt.dispose();
  return { root, datasetDir, modelDir, dataset: ds, tokenizer: tok, formatRate };
}
