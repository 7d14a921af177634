// One GRPO optimizer update over a rollout batch: the gradient of the GRPO loss over all N
// sequences, accumulated over micro-batches so memory stays bounded. The loss is a mean over
// sequences, so weighting each micro-batch's loss by (its rows / N) and summing gives exactly the
// full-batch gradient (checked in test/unit/grpo/update.test.ts). Model-agnostic: the caller passes
// a function computing the policy's completion logits for a row range, built on the trainable
// variables.
import * as tf from '@tensorflow/tfjs';
import { grpoLoss } from './loss';
import { tokenEntropy, tokenLogprobs } from './logprobs';

export interface RolloutTensors {
  /** [N, T] completion token ids (int32). */
  tokens: tf.Tensor2D;
  /** [N, T] sampling log-probs. */
  oldLogp: tf.Tensor2D;
  /** [N, T] reference log-probs. */
  refLogp: tf.Tensor2D;
  /** [N] group advantages. */
  advantages: tf.Tensor1D;
  /** [N, T] completion mask. */
  mask: tf.Tensor2D;
}

export interface UpdateConfig {
  clipLow: number;
  clipHigh: number;
  beta: number;
  temperature: number;
  microBatch: number;
}

export interface UpdateResult {
  /** Gradients of the full-batch loss, by variable name (caller disposes). */
  grads: Record<string, tf.Tensor>;
  loss: number;
  kl: number;
  clipLowFrac: number;
  clipHighFrac: number;
  meanRatio: number;
  /** Mean per-token entropy of the policy over completion tokens. */
  entropy: number;
}

/** `logitsFor(start, count)` → [count, T, V] policy logits predicting tokens rows [start, start+count). */
export type LogitsFn = (start: number, count: number) => tf.Tensor3D;

export function grpoGradients(r: RolloutTensors, vars: tf.Variable[], logitsFor: LogitsFn, c: UpdateConfig): UpdateResult {
  const N = r.tokens.shape[0];
  if (N % c.microBatch !== 0 && c.microBatch < N) {
    throw new RangeError(`grpoGradients: ${N} sequences are not divisible by microBatch ${c.microBatch}`);
  }
  const mb = Math.min(c.microBatch, N);
  const acc: Record<string, tf.Tensor> = {};
  const totalTokens = Math.max(1, r.mask.sum().dataSync()[0]);
  const sums = { loss: 0, kl: 0, low: 0, high: 0, ratio: 0, entropy: 0 };
  for (let start = 0; start < N; start += mb) {
    const count = Math.min(mb, N - start);
    const part = <T extends tf.Tensor>(t: T): T => t.slice(start, count) as T;
    const diag: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const mask = part(r.mask);
      const logits = logitsFor(start, count);
      const o = grpoLoss({
        logp: tokenLogprobs(logits, part(r.tokens), c.temperature), oldLogp: part(r.oldLogp), refLogp: part(r.refLogp),
        advantages: part(r.advantages), mask, clipLow: c.clipLow, clipHigh: c.clipHigh, beta: c.beta,
      });
      const ent = tf.sum(tf.mul(tokenEntropy(logits, c.temperature), mask));
      diag.push(...[o.kl, o.clipLowFrac, o.clipHighFrac, o.meanRatio, ent as tf.Scalar, mask.sum() as tf.Scalar].map((t) => tf.keep(t)));
      return o.loss.mul(count / N) as tf.Scalar;
    }, vars);
    const [kl, low, high, ratio, ent, tokens] = diag.map((t) => t.dataSync()[0]);
    tf.dispose(diag);
    // kl is a sequence mean (like the loss); the token fractions are re-weighted by token counts.
    sums.loss += value.dataSync()[0];
    sums.kl += kl * (count / N);
    sums.low += low * tokens;
    sums.high += high * tokens;
    sums.ratio += ratio * tokens;
    sums.entropy += ent;
    value.dispose();
    for (const [name, g] of Object.entries(grads)) {
      if (acc[name]) {
        const next = tf.add(acc[name], g);
        acc[name].dispose();
        g.dispose();
        acc[name] = next;
      } else {
        acc[name] = g;
      }
    }
  }
  return {
    grads: acc, loss: sums.loss, kl: sums.kl, clipLowFrac: sums.low / totalTokens, clipHighFrac: sums.high / totalTokens,
    meanRatio: sums.ratio / totalTokens, entropy: sums.entropy / totalTokens,
  };
}
