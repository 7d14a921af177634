// Per-token log-probabilities and entropy of chosen tokens from logits: what the GRPO loss needs
// from the policy and the reference. Written with a one-hot product rather than tf.gather because
// gather's gradient needs a kernel the wasm backend lacks and batched gather is wrong there
// (issue 4's notes); the one-hot path is exact and differentiable on every backend.
import * as tf from '@tensorflow/tfjs';

/**
 * logits [B, T, V] predicting targets [B, T] → log p(target) [B, T], with logits divided by
 * `temperature` first so that the ratio to the sampling policy is 1 on-policy (the sampler draws
 * from softmax(logits / temperature)).
 */
export function tokenLogprobs(logits: tf.Tensor3D, targets: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const V = logits.shape[2];
    const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
    const logSoft = tf.logSoftmax(scaled, -1);
    const onehot = tf.oneHot(tf.cast(targets, 'int32'), V);
    return tf.sum(tf.mul(logSoft, onehot), -1) as tf.Tensor2D;
  });
}

/** Entropy of softmax(logits / temperature) at each position, [B, T] (a diagnostic, no gradient needed). */
export function tokenEntropy(logits: tf.Tensor3D, temperature = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
    const logSoft = tf.logSoftmax(scaled, -1);
    return tf.neg(tf.sum(tf.mul(tf.exp(logSoft), logSoft), -1)) as tf.Tensor2D;
  });
}

/** Masked mean of a [B, T] tensor as a number. */
export function maskedMean(x: tf.Tensor2D, mask: tf.Tensor2D): number {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)).dataSync()[0]);
}
