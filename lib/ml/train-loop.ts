// The supervised training loop shared by `pretrain` (captions) and `sft` (CoT or label targets),
// read top to bottom: setup, resume from the newest intact checkpoint, loop (batch, loss masked to
// the completion, clip, AdamW, schedule), checkpoint every N steps, evaluate, return curves.
// Durability: the batch is a function of the step and all state is in the checkpoint, so a run
// killed at any point and resumed ends with the same weights as an uninterrupted one (same backend).
// A resume records where the checkpoint's numbers came from against where it continues (backend,
// TF.js version, CPU kind): a different origin is allowed, but warned in the log, in every heartbeat's
// phase and in TrainResult.resume (lineage), because bit-exactness then no longer holds.
// A non-finite loss throws a non-retryable Divergence error naming the step; cancellation writes a
// checkpoint and throws Cancelled.
// Exports: trainSupervised, TrainOptions, TrainResult, maskedNll.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { PretrainParamsResolved } from '../spec/spec-types.generated';
import type { StageContext } from '../stage/types';
import { ClgrpoError, ErrorType } from '../errors';
import { inexactResumeMessage, resumeRecordFor, type NumericsOrigin, type ResumeRecord } from './backend';
import { CheckpointStore } from './checkpoint';
import type { Dataset } from './data/dataset';
import { numPatches, type VlmModel } from './model';
import { AdamW, clipByGlobalNorm } from './optimizer';
import { lrAt } from './schedule';
import type { Tokenizer } from './tokenizer';
import { batchSchedule, exampleImages, type SupervisedExample } from './train-data';
import { restoreTrainCheckpoint, saveTrainCheckpoint, type TrainState } from './train-state';

/**
 * The optimisation fields of the resolved pretrain params, generated from the schema (STYLE.md 5);
 * sft's resolved params carry the same fields (its steps derive from epochs).
 */
type LoopParams = Pick<PretrainParamsResolved,
  'steps' | 'batchSize' | 'lr' | 'warmupSteps' | 'weightDecay' | 'gradClip' | 'checkpointEvery' | 'keepCheckpoints'>;

/** The loop's options: the resolved params' optimisation fields plus the stage kind and seed. */
export type TrainOptions = LoopParams & { kind: string; seed: number };

export interface TrainResult {
  state: TrainState;
  finalLoss: number;
  evalLoss?: number;
  tokensPerSec: number;
  resumedFromStep: number;
  /** Set when this attempt resumed from a checkpoint: whether that is bit-exact, and both origins. */
  resume?: ResumeRecord;
}


/** Compares the checkpoint's origin with this process's; warns when the resume cannot be bit-exact. */
function resumeRecord(ctx: StageContext, kind: string, step: number, from: NumericsOrigin | undefined): ResumeRecord {
  const r = resumeRecordFor(step, from);
  if (!r.exact) {
    ctx.log.warn(inexactResumeMessage(kind, r), { from: r.from, to: r.to });
  }
  return r;
}

/** Mean negative log-likelihood over the completion tokens of a batch (a scalar tensor). */
export function maskedNll(model: VlmModel, images: tf.Tensor4D, batch: SupervisedExample[]): tf.Scalar {
  const { logProbs, mask } = model.completionLogProbs(images, batch.map((e) => e.prompt), batch.map((e) => e.completion));
  return tf.neg(tf.div(tf.sum(tf.mul(logProbs, mask)), tf.maximum(tf.sum(mask), 1))) as tf.Scalar;
}

function positions(model: VlmModel, batch: SupervisedExample[]): number {
  const T = Math.max(...batch.map((e) => e.prompt.length + e.completion.length));
  return batch.length * (numPatches(model.config) + T);
}

/** One optimizer step; returns the loss (before the update). */
function trainStep(model: VlmModel, opt: AdamW, images: tf.Tensor4D, batch: SupervisedExample[], lr: number, gradClip: number, step: number): number {
  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), vars);
  const loss = value.dataSync()[0];
  value.dispose();
  if (!Number.isFinite(loss)) {
    tf.dispose(Object.values(grads));
    throw new ClgrpoError(ErrorType.Divergence, `loss became ${loss} at step ${step + 1}; lower lr or gradClip (weights not published)`, { details: { step: step + 1 } });
  }
  const names = [...model.params.keys()];
  const list = vars.map((v) => grads[v.name]);
  const clipped = clipByGlobalNorm(list, gradClip);
  tf.dispose(list);
  if (!Number.isFinite(clipped.norm)) {
    tf.dispose(clipped.grads);
    throw new ClgrpoError(ErrorType.Divergence, `gradient norm became ${clipped.norm} at step ${step + 1}; lower lr (weights not published)`, { details: { step: step + 1 } });
  }
  opt.apply(model.params, new Map(names.map((n, i) => [n, clipped.grads[i]])), lr);
  tf.dispose(clipped.grads);
  return loss;
}

/** The last update can overflow without a later loss to show it: never publish such weights. */
function assertFiniteWeights(model: VlmModel, step: number): void {
  for (const [name, v] of model.params) {
    const ok = tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0]);
    if (!ok) throw new ClgrpoError(ErrorType.Divergence, `parameter ${name} is not finite after step ${step} (weights not published)`, { details: { step, parameter: name } });
  }
}

/** Mean completion NLL over examples, in batches (no gradients). */
export function evaluateLoss(model: VlmModel, dataset: Dataset, split: 'val' | 'test' | 'train', examples: SupervisedExample[], batchSize: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = examples.slice(i, i + batchSize);
    const tokens = batch.reduce((a, e) => a + e.completion.length, 0);
    sum += tf.tidy(() => maskedNll(model, exampleImages(dataset, split, batch), batch).dataSync()[0]) * tokens;
    count += tokens;
  }
  return count ? sum / count : NaN;
}

export async function trainSupervised(
  ctx: StageContext, model: VlmModel, tokenizer: Tokenizer, dataset: Dataset,
  examples: SupervisedExample[], o: TrainOptions, evalExamples: SupervisedExample[] = [],
): Promise<TrainResult> {
  const store = new CheckpointStore(path.join(ctx.workDir, 'checkpoints'), o.keepCheckpoints);
  const opt = new AdamW({ weightDecay: o.weightDecay });
  const schedule = batchSchedule(examples.length, o.batchSize, o.seed, o.kind);
  let state: TrainState = { step: 0, total: o.steps, cursor: { epoch: 0, batch: 0 }, rng: { seed: o.seed, scope: [o.kind, 'shuffle'] }, curves: { loss: [], lr: [], tokensPerSec: [] } };

  // Resume: the verified checkpoint on disk wins over the heartbeat hint.
  const ckpt = store.loadLatest();
  for (const s of ckpt?.skipped ?? []) ctx.log.warn(`skipping corrupt checkpoint ${s.name}: ${s.reason}`);
  let resume: ResumeRecord | undefined;
  if (ckpt) {
    state = restoreTrainCheckpoint(ckpt, model, opt);
    ctx.log.info(`resuming ${o.kind} from checkpoint ${ckpt.name} (step ${state.step}/${o.steps})`,
      { hintStep: ctx.previousProgress?.step });
    resume = resumeRecord(ctx, o.kind, state.step, ckpt.origin);
  }
  // The stage status keeps saying so for the whole attempt (the CLI shows the phase).
  const phase = resume && !resume.exact ? { phase: `inexact resume: ${resume.differs.join('; ')}` } : {};
  const resumedFromStep = state.step;
  let lastCkpt = ckpt ? `checkpoints/${ckpt.name}` : undefined;
  let finalLoss = NaN;
  let window = { tokens: 0, ms: 0 };
  let tokensPerSec = 0;

  try {
    while (state.step < o.steps) {
      if (ctx.signal.aborted) {
        if (state.step > resumedFromStep) lastCkpt = `checkpoints/${saveTrainCheckpoint(store, model, tokenizer, opt, state)}`;
        throw new ClgrpoError(ErrorType.Cancelled, `${o.kind} cancelled at step ${state.step}/${o.steps}; checkpoint ${lastCkpt ?? 'none'} kept`);
      }
      const at = schedule.at(state.step);
      const batch = at.indices.map((i) => examples[i]);
      const lr = lrAt(state.step, { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps });
      const t0 = performance.now();
      const images = exampleImages(dataset, 'train', batch);
      try {
        finalLoss = trainStep(model, opt, images, batch, lr, o.gradClip, state.step);
      } finally {
        images.dispose();
      }
      window = { tokens: window.tokens + positions(model, batch), ms: window.ms + performance.now() - t0 };
      state.step += 1;
      state.cursor = { epoch: Math.floor(state.step / schedule.batchesPerEpoch), batch: state.step % schedule.batchesPerEpoch };
      state.curves.loss.push([state.step, finalLoss]);
      state.curves.lr.push([state.step, lr]);
      if (window.ms > 2000 || state.step === o.steps) {
        tokensPerSec = (window.tokens * 1000) / window.ms;
        state.curves.tokensPerSec.push([state.step, tokensPerSec]);
        window = { tokens: 0, ms: 0 };
      }
      if (state.step % o.checkpointEvery === 0 || state.step === o.steps) {
        lastCkpt = `checkpoints/${saveTrainCheckpoint(store, model, tokenizer, opt, state)}`;
      }
      ctx.heartbeat({ step: state.step, total: o.steps, checkpoint: lastCkpt, metrics: { loss: finalLoss, lr, tokensPerSec }, ...phase });
      // Yield so cancellation and timers are seen between steps.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    opt.dispose();
  }
  assertFiniteWeights(model, state.step);
  if (ckpt && state.step === resumedFromStep) {
    finalLoss = state.curves.loss.at(-1)?.[1] ?? NaN;
  }
  const evalLoss = evalExamples.length ? evaluateLoss(model, dataset, 'val', evalExamples, o.batchSize) : undefined;
  if (evalLoss !== undefined) state.curves.evalLoss = [[state.step, evalLoss]];
  return { state, finalLoss, evalLoss, tokensPerSec, resumedFromStep, ...(resume ? { resume } : {}) };
}
