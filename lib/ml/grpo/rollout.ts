// The sampling half of a GRPO step: take the step's prompts, sample G completions of each with the
// KV cache (lib/ml/sampling.ts), score them with the rewards, and compute group advantages; then the
// reference pass. "old" log-probs are the sampler's temperature-1 log-probs of the drawn tokens: the
// policy's own probabilities at sampling time, which is what the trainer's forward pass computes, so
// the first update is exactly on-policy (ratio 1 up to float rounding between cached and uncached
// attention). The policy, old and reference log-probs all use temperature 1; temperature and top-p
// only shape exploration.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import type { VlmModel } from '../model';
import { generate } from '../sampling';
import type { Tokenizer } from '../tokenizer';
import type { Rng } from '../../rng';
import { scoreCompletion, formatReward, accuracyReward, type ResolvedReward } from '../rewards';
import { groupAdvantages } from './advantages';
import { completionTokensForText, padCompletions, type PaddedCompletions } from './batch';
import { tokenLogprobs } from './logprobs';

export interface RolloutParams {
  groupSize: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
}

export interface Rollout {
  /** Train-split index of each row's prompt (each prompt repeated groupSize times, adjacent). */
  rowIndices: number[];
  completions: PaddedCompletions;
  texts: string[];
  /** Weighted total reward per row. */
  rewards: number[];
  /** Unweighted value of each reward per row. */
  parts: Record<string, number[]>;
  /** Format and accuracy of every row, whatever rewards train (for the curves). */
  format: number[];
  accuracy: number[];
  advantages: number[];
  /** Generated tokens (counted by the mask). */
  tokens: number;
}

/** Images of `rowIndices` as a [N, S, S, 3] float tensor in [0, 1]. */
export function imagesFor(ds: Dataset, split: 'train' | 'val' | 'test', rowIndices: readonly number[]): tf.Tensor4D {
  const S = ds.meta.imageSize;
  return tf.tensor4d(ds.batch(split, rowIndices), [rowIndices.length, S, S, 3]);
}

export function sampleRollout(
  policy: VlmModel, ds: Dataset, tok: Tokenizer, prompt: number[], promptIdx: readonly number[],
  rewards: readonly ResolvedReward[], p: RolloutParams, rng: Rng,
): Rollout {
  const rowIndices = promptIdx.flatMap((i) => new Array<number>(p.groupSize).fill(i));
  const samples = ds.samples('train');
  const images = imagesFor(ds, 'train', rowIndices);
  let gen;
  try {
    gen = generate(policy, images, rowIndices.map(() => prompt), {
      maxNewTokens: p.maxNewTokens, temperature: p.temperature, topP: p.topP, rng, eos: tok.eos,
    });
  } finally {
    images.dispose();
  }
  const completions = padCompletions(gen.tokens.map((t, i) => ({ tokens: t, logprobs: gen.logProbs[i] })), tok.eos);
  const texts = gen.tokens.map((t) => tok.decode(completionTokensForText(t, tok.eos)));
  const parts: Record<string, number[]> = Object.fromEntries(rewards.map((r) => [r.name, [] as number[]]));
  const totals: number[] = [];
  const format: number[] = [];
  const accuracy: number[] = [];
  texts.forEach((completion, i) => {
    const label = samples[rowIndices[i]].label;
    const s = scoreCompletion(rewards, { completion, label });
    totals.push(s.total);
    for (const [k, v] of Object.entries(s.parts)) parts[k].push(v);
    format.push(formatReward({ completion, label }));
    accuracy.push(accuracyReward({ completion, label }));
  });
  return {
    rowIndices, completions, texts, rewards: totals, parts, format, accuracy,
    advantages: groupAdvantages(totals, p.groupSize),
    tokens: completions.lengths.reduce((a, b) => a + b, 0),
  };
}

/**
 * Logits [n, Tc, V] predicting each completion token, teacher-forced after the shared prompt:
 * position Tp−1+j of the sequence (prompt ++ completion) predicts completion token j. Differentiable
 * w.r.t. the model's variables. Every prompt of the task is the same text, hence one prompt.
 */
export function completionLogits(model: VlmModel, images: tf.Tensor4D, prompt: number[], completions: tf.Tensor2D): tf.Tensor3D {
  const [n, Tc] = completions.shape;
  const Tp = prompt.length;
  const promptT = tf.tile(tf.tensor2d(prompt, [1, Tp], 'int32'), [n, 1]);
  // The last completion token predicts nothing we score: leave it out of the input.
  const input = Tc > 1 ? tf.concat([promptT, tf.slice(completions, [0, 0], [n, Tc - 1])], 1) : promptT;
  const logits = model.textLogits(images, input as tf.Tensor2D);
  return tf.slice(logits, [0, Tp - 1, 0], [n, Tc, model.config.vocabSize]);
}

/** Reference log-probs [N, Tc] of the rollout under the frozen reference, in micro-batches, no gradient. */
export function referenceLogprobs(
  ref: VlmModel, ds: Dataset, prompt: number[], r: Rollout, microBatch: number,
): tf.Tensor2D {
  const { n, width } = r.completions;
  const out = new Float32Array(n * width);
  for (let start = 0; start < n; start += microBatch) {
    const count = Math.min(microBatch, n - start);
    const lp = tf.tidy(() => {
      const images = imagesFor(ds, 'train', r.rowIndices.slice(start, start + count));
      const toks = tf.tensor2d(r.completions.tokens.subarray(start * width, (start + count) * width), [count, width], 'int32');
      return tokenLogprobs(completionLogits(ref, images, prompt, toks), toks);
    });
    out.set(lp.dataSync(), start * width);
    lp.dispose();
  }
  return tf.tensor2d(out, [n, width]);
}
