// The GRPO loss (with separate lower and upper clip bounds, so CLGRPO is the same function with
// `clipHigh` lowered) as one pure TF.js function, written to be checked against other
// implementations (TRL's GRPOTrainer `_compute_loss` with loss_type "grpo" computes the same thing).
//
// For each completion token t of sequence i, with A_i the group advantage of sequence i:
//   r      = exp(logp − old)                                  ratio to the sampling policy
//   obj    = min(r·A_i, clip(r, 1 − clipLow, 1 + clipHigh)·A_i)
//   kl     = exp(ref − logp) − (ref − logp) − 1                k3 estimator of KL(π ‖ π_ref), ≥ 0
//   ℓ      = −obj + beta·kl
// loss = mean_i ( Σ_t mask·ℓ / Σ_t mask ): token mean per sequence, then mean over sequences.
//
// Only `logp` carries gradient; `old`, `ref` and the advantages are constants (the caller computes
// them outside the gradient tape). A token's clip bound "binds" when the clipped term is the one the
// min picks and the clip is active, i.e. its gradient through the ratio is zero:
//   low binds  ⇔ A < 0 and r < 1 − clipLow     high binds ⇔ A > 0 and r > 1 + clipHigh.
import * as tf from '@tensorflow/tfjs';

export interface GrpoLossInputs {
  /** [B, T] per-token log-probs of the policy being trained (differentiable). */
  logp: tf.Tensor2D;
  /** [B, T] log-probs of the policy that sampled the completions. */
  oldLogp: tf.Tensor2D;
  /** [B, T] log-probs of the frozen reference policy. */
  refLogp: tf.Tensor2D;
  /** [B] per-sequence advantages. */
  advantages: tf.Tensor1D;
  /** [B, T] 1 for completion tokens that count, 0 for prompt and padding. */
  mask: tf.Tensor2D;
  clipLow: number;
  clipHigh: number;
  beta: number;
}

export interface GrpoLossOutputs {
  /** Scalar to minimize. */
  loss: tf.Scalar;
  /** Mean k3 KL, aggregated like the loss (token mean per sequence, mean over sequences). */
  kl: tf.Scalar;
  /** Fraction of counted tokens where the low bound binds. */
  clipLowFrac: tf.Scalar;
  /** Fraction of counted tokens where the high bound binds. */
  clipHighFrac: tf.Scalar;
  /** Mean ratio over counted tokens. */
  meanRatio: tf.Scalar;
}

/** Computes the loss and its diagnostics; call inside tf.tidy / tf.variableGrads. */
export function grpoLoss(x: GrpoLossInputs): GrpoLossOutputs {
  checkBounds(x.clipLow, x.clipHigh, x.beta);
  const adv = x.advantages.expandDims(1) as tf.Tensor2D;
  const ratio = tf.exp(tf.sub(x.logp, x.oldLogp));
  const clipped = tf.clipByValue(ratio, 1 - x.clipLow, 1 + x.clipHigh);
  // ratio·A first: at a tie tf.minimum sends the gradient to its first argument, the unclipped term.
  const objective = tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv));
  const d = tf.sub(x.refLogp, x.logp);
  const kl = tf.sub(tf.sub(tf.exp(d), d), 1);
  const perToken = tf.add(tf.neg(objective), tf.mul(kl, x.beta));

  const tokensPerSeq = tf.maximum(tf.sum(x.mask, 1), 1);
  const seqMean = (t: tf.Tensor): tf.Scalar => tf.mean(tf.div(tf.sum(tf.mul(t, x.mask), 1), tokensPerSeq));
  const totalTokens = tf.maximum(tf.sum(x.mask), 1);
  const tokenFrac = (b: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(tf.cast(b, 'float32'), x.mask)), totalTokens);

  const negAdv = tf.less(adv, 0);
  const posAdv = tf.greater(adv, 0);
  return {
    loss: seqMean(perToken),
    kl: seqMean(kl),
    clipLowFrac: tokenFrac(tf.logicalAnd(negAdv, tf.less(ratio, 1 - x.clipLow))),
    clipHighFrac: tokenFrac(tf.logicalAnd(posAdv, tf.greater(ratio, 1 + x.clipHigh))),
    meanRatio: tf.div(tf.sum(tf.mul(ratio, x.mask)), totalTokens),
  };
}

function checkBounds(low: number, high: number, beta: number): void {
  if (!(low >= 0 && low < 1)) throw new RangeError(`grpoLoss: clipLow must be in [0, 1) (got ${low})`);
  if (!(high >= 0 && Number.isFinite(high))) throw new RangeError(`grpoLoss: clipHigh must be ≥ 0 (got ${high})`);
  if (!(beta >= 0 && Number.isFinite(beta))) throw new RangeError(`grpoLoss: beta must be ≥ 0 (got ${beta})`);
}

/** The diagnostics as plain numbers (disposes the tensors). */
export function readDiagnostics(o: Omit<GrpoLossOutputs, 'loss'> & { loss?: tf.Scalar }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = (v as tf.Scalar).dataSync()[0];
    (v as tf.Scalar).dispose();
  }
  return out;
}
