// The GRPO training loop, top to bottom (DESIGN/STYLE §8): setup, resume, loop (sample → score →
// reference pass → `iterations` updates), checkpoint. Stages 2–4 of the method are this loop with
// other params; CLGRPO is `clip.high` lowered. The maths lives in advantages.ts, loss.ts, update.ts.
// A checkpoint holds the policy weights, AdamW moments, the sampling RNG state, the step and the
// curves so far; the reference is the stage's input artifact and is never re-saved. Resume is exact:
// prompts are a pure function of (seed, step) and the sampling stream is restored from its state.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ClgrpoError, ErrorType } from '../../errors';
import { Rng, rngFor, type RngState } from '../../rng';
import type { ProgressDetails } from '../../stage/types';
import { inexactResumeMessage, resumeRecordFor, type ResumeRecord } from '../backend';
import { CheckpointStore } from '../checkpoint';
import type { Dataset } from '../data/dataset';
import type { VlmModel } from '../model';
import { AdamW, clipByGlobalNorm } from '../optimizer';
import { TASK_PROMPT, encodePrompt } from '../prompt';
import { resolveRewards } from '../rewards';
import { decodeSafetensors, encodeSafetensors, floatEntries, tensorsToEntries } from '../safetensors';
import type { Tokenizer } from '../tokenizer';
import { promptIndices } from './batch';
import { imagesFor, completionLogits, referenceLogprobs, sampleRollout } from './rollout';
import { grpoGradients } from './update';
import type { GrpoParamsResolved } from '../../spec/spec-types.generated';

/** Resolved grpo params (docs/CONTRACTS.md): the compiler applies every default. */
/** The resolved grpo params: generated from the schema (one source of truth, STYLE.md 5). */
export type GrpoParams = GrpoParamsResolved;

/** Fixed parts of the method (not params): global-norm clip as TRL's default, no weight decay. */
export const GRAD_CLIP = 1.0;
export const WEIGHT_DECAY = 0;

export type Curves = Record<string, Array<[number, number]>>;

/**
 * No silent no-op: after this many consecutive steps in which every group had equal rewards (so
 * every advantage was 0 and the weights did not move) the trainer warns. The TRL trainer uses the
 * same number (trainers/trl/train_common.py ZERO_ADV_WARN_AFTER) and the same warning code.
 */
export const ZERO_ADVANTAGE_WARN_AFTER = 3;
export const ZERO_ADVANTAGE_WARNING = 'zero-advantage';
/** Warning code: this attempt resumed from a checkpoint another backend / TF.js / CPU kind wrote. */
export const INEXACT_RESUME_WARNING = 'inexact-resume';

/** The fraction of groups (consecutive runs of `groupSize` rewards) whose rewards are all equal: TRL's frac_reward_zero_std. */
export function zeroAdvantageFrac(rewards: readonly number[], groupSize: number): number {
  const groups = Math.floor(rewards.length / groupSize);
  if (!groups) return 0;
  let flat = 0;
  for (let g = 0; g < groups; g++) {
    const first = rewards[g * groupSize];
    if (rewards.slice(g * groupSize, (g + 1) * groupSize).every((r) => r === first)) flat++;
  }
  return flat / groups;
}

export interface GrpoRun {
  policy: VlmModel;
  reference: VlmModel;
  tokenizer: Tokenizer;
  dataset: Dataset;
  params: GrpoParams;
  seed: number;
  /** Persistent directory for checkpoints. */
  workDir: string;
  heartbeat(d: ProgressDetails): void;
  signal?: AbortSignal;
  /**
   * Test/bench hook: called after each completed step (after its checkpoint, if any), with the
   * step's metrics and the CPU milliseconds this process spent in each phase (wall time is in the
   * metrics; CPU time stays meaningful on a loaded machine).
   */
  afterStep?(step: number, metrics: Record<string, number>, cpuMs: { sample: number; reference: number; update: number }): void;
  /** A condition the run should not hide (code `zero-advantage`): logged and shown in status by the caller. */
  warn?(code: string, message: string): void;
}

export interface GrpoResult {
  curves: Curves;
  /** Metrics of the last step. */
  last: Record<string, number>;
  resumedFrom: number;
  /** Set when this attempt resumed from a checkpoint: whether that is bit-exact, and both origins. */
  resume?: ResumeRecord;
  /** Warnings raised by this attempt (code + message), e.g. zero-advantage. */
  warnings: Array<{ code: string; message: string }>;
  /** Median milliseconds per step of each phase over this attempt's steps. */
  timing: { sampleMs: number; referenceMs: number; updateMs: number };
}

interface State {
  step: number;
  rng: RngState;
  curves: Curves;
  /** Consecutive steps so far with every group's rewards equal (absent in older checkpoints: 0). */
  zeroStreak?: number;
}

function checkpointFiles(policy: VlmModel, opt: AdamW, state: State): Map<string, Buffer> {
  const weights = policy.namedWeights();
  const os = opt.state();
  try {
    return new Map([
      ['model.safetensors', encodeSafetensors(tensorsToEntries(weights))],
      ['optimizer.safetensors', encodeSafetensors(tensorsToEntries(os.tensors), { step: String(os.step) })],
      ['state.json', Buffer.from(JSON.stringify(state))],
    ]);
  } finally {
    tf.dispose([...weights.values(), ...os.tensors.values()]);
  }
}

function restore(ck: { files: Map<string, Buffer> }, policy: VlmModel, opt: AdamW): State {
  const need = (f: string) => {
    const b = ck.files.get(f);
    if (!b) throw new ClgrpoError(ErrorType.CheckpointCorrupt, `grpo checkpoint lacks ${f}; delete the stage's work dir to start over`);
    return b;
  };
  policy.loadWeights(floatEntries(decodeSafetensors(need('model.safetensors')).tensors));
  const o = decodeSafetensors(need('optimizer.safetensors'));
  opt.loadState(Number(o.metadata.step), floatEntries(o.tensors));
  return JSON.parse(need('state.json').toString('utf8')) as State;
}

function divergence(step: number, what: string, value: number): ClgrpoError {
  return new ClgrpoError(ErrorType.Divergence,
    `grpo diverged at step ${step}: ${what} is ${value}; lower lr or beta, or raise groupSize; the weights were not published`,
    { details: { step, what, value } });
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function trainGrpo(run: GrpoRun): Promise<GrpoResult> {
  // --- setup
  const p = run.params;
  const rewards = resolveRewards(p.rewards);
  const prompt = encodePrompt(run.tokenizer, TASK_PROMPT);
  const nTrain = run.dataset.meta.splits.train;
  const opt = new AdamW({ weightDecay: WEIGHT_DECAY });
  const ckpt = new CheckpointStore(path.join(run.workDir, 'checkpoints'), p.keepCheckpoints);
  const byVarName = new Map(run.policy.trainableVariables().map((v) => [v.name, v] as const));
  const paramName = new Map([...run.policy.params].map(([n, v]) => [v.name, n] as const));

  // --- resume
  let state: State = { step: 0, rng: rngFor(run.seed, 'grpo', 'sample').state(), curves: {} };
  const loaded = ckpt.loadLatest();
  if (loaded) state = restore(loaded, run.policy, opt);
  const resumedFrom = state.step;
  // Bit-exact only on the backend, TF.js version and CPU kind that wrote the checkpoint; otherwise
  // said in the log, every later heartbeat (the warn hook) and lineage.resume, never hidden.
  const resume = loaded ? resumeRecordFor(state.step, loaded.origin) : undefined;
  if (resume && !resume.exact) {
    run.warn?.(INEXACT_RESUME_WARNING, inexactResumeMessage('grpo', resume));
  }
  const rng = new Rng(state.rng);
  const times = { sample: [] as number[], reference: [] as number[], update: [] as number[] };
  let last: Record<string, number> = {};
  let checkpoint = loaded?.name;
  const warnings: GrpoResult['warnings'] = [];
  let zeroStreak = state.zeroStreak ?? 0;

  // --- loop
  for (let step = state.step; step < p.steps; step++) {
    if (run.signal?.aborted) throw new ClgrpoError(ErrorType.Cancelled, `grpo cancelled before step ${step + 1}; checkpoint ${checkpoint ?? 'none'} kept`);
    run.heartbeat({ step, total: p.steps, phase: 'sampling', ...(checkpoint ? { checkpoint: `checkpoints/${checkpoint}` } : {}) });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const idx = promptIndices(run.seed, step, p.promptsPerStep, nTrain);
    const r = sampleRollout(run.policy, run.dataset, run.tokenizer, prompt, idx, rewards,
      { groupSize: p.groupSize, temperature: p.temperature, topP: p.topP, maxNewTokens: p.maxNewTokens }, rng);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const N = r.rowIndices.length;
    const W = r.completions.width;
    const tensors = {
      tokens: tf.tensor2d(r.completions.tokens, [N, W], 'int32'),
      oldLogp: tf.tensor2d(r.completions.oldLogp, [N, W]),
      refLogp: referenceLogprobs(run.reference, run.dataset, prompt, r, p.microBatch),
      advantages: tf.tensor1d(r.advantages),
      mask: tf.tensor2d(r.completions.mask, [N, W]),
    };
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const diag: Array<Record<string, number>> = [];
    try {
      for (let it = 0; it < p.iterations; it++) {
        diag.push(updateOnce(run, opt, tensors, p, prompt, r.rowIndices, byVarName, paramName, step + 1));
      }
    } finally {
      tf.dispose(Object.values(tensors));
    }
    const t3 = performance.now();
    const c3 = process.cpuUsage();
    times.sample.push(t1 - t0);
    times.reference.push(t2 - t1);
    times.update.push(t3 - t2);

    last = {
      ...Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [`reward.${k}`, mean(v)])),
      'reward.total': mean(r.rewards), accuracy: mean(r.accuracy), formatRate: mean(r.format),
      loss: mean(diag.map((d) => d.loss)), kl: mean(diag.map((d) => d.kl)),
      clipLowFrac: mean(diag.map((d) => d.clipLowFrac)), clipHighFrac: mean(diag.map((d) => d.clipHighFrac)),
      entropy: diag[0]?.entropy ?? 0, tokensPerSec: r.tokens / ((t3 - t0) / 1000),
      completionLength: r.tokens / N, sampleMs: t1 - t0, referenceMs: t2 - t1, updateMs: t3 - t2,
      zeroAdvantageFrac: zeroAdvantageFrac(r.rewards, p.groupSize),
    };
    zeroStreak = last.zeroAdvantageFrac >= 1 ? zeroStreak + 1 : 0;
    if (zeroStreak === ZERO_ADVANTAGE_WARN_AFTER) {
      const message = `grpo: steps ${step + 2 - ZERO_ADVANTAGE_WARN_AFTER}–${step + 1}: every group had equal rewards, so every advantage was 0 and the weights did not move; train the SFT stage longer or raise temperature / groupSize`;
      warnings.push({ code: ZERO_ADVANTAGE_WARNING, message });
      run.warn?.(ZERO_ADVANTAGE_WARNING, message);
    }
    for (const [k, v] of Object.entries(last)) {
      if (!Number.isFinite(v)) throw divergence(step + 1, k, v);
      (state.curves[k] ??= []).push([step + 1, v]);
    }
    state = { step: step + 1, rng: rng.state(), curves: state.curves, zeroStreak };
    if (state.step % p.checkpointEvery === 0 || state.step === p.steps) {
      checkpoint = ckpt.save(state.step, checkpointFiles(run.policy, opt, state));
    }
    run.heartbeat({ step: state.step, total: p.steps, metrics: last, ...(checkpoint ? { checkpoint: `checkpoints/${checkpoint}` } : {}) });
    const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
    run.afterStep?.(state.step, last, { sample: cpu(c0, c1), reference: cpu(c1, c2), update: cpu(c2, c3) });
    await new Promise((res) => setImmediate(res)); // let heartbeats and cancellation through
  }
  // Resumed after the final checkpoint: nothing ran, the last step's metrics are in the curves.
  if (!Object.keys(last).length) last = Object.fromEntries(Object.entries(state.curves).map(([k, v]) => [k, v[v.length - 1][1]]));
  return {
    curves: state.curves, last, resumedFrom, warnings, ...(resume ? { resume } : {}),
    timing: { sampleMs: median(times.sample), referenceMs: median(times.reference), updateMs: median(times.update) },
  };
}

/** One optimizer update over the whole rollout batch; throws Divergence on a non-finite value. */
function updateOnce(
  run: GrpoRun, opt: AdamW, t: Parameters<typeof grpoGradients>[0], p: GrpoParams, prompt: number[],
  rowIndices: number[], byVarName: Map<string, tf.Variable>, paramName: Map<string, string>, step: number,
): Record<string, number> {
  const logitsFor = (start: number, count: number) => completionLogits(run.policy,
    imagesFor(run.dataset, 'train', rowIndices.slice(start, start + count)), prompt, t.tokens.slice(start, count));
  const res = grpoGradients(t, [...byVarName.values()], logitsFor,
    { clipLow: p.clip.low, clipHigh: p.clip.high, beta: p.beta, temperature: 1, microBatch: p.microBatch });
  const names = Object.keys(res.grads);
  try {
    if (!Number.isFinite(res.loss)) throw divergence(step, 'loss', res.loss);
    const clipped = clipByGlobalNorm(names.map((n) => res.grads[n]), GRAD_CLIP);
    try {
      if (!Number.isFinite(clipped.norm)) throw divergence(step, 'gradient norm', clipped.norm);
      const grads = new Map(names.map((n, i) => [paramName.get(n) as string, clipped.grads[i]] as const));
      opt.apply(run.policy.params, grads, p.lr);
    } finally {
      tf.dispose(clipped.grads);
    }
  } finally {
    tf.dispose(Object.values(res.grads));
  }
  return { loss: res.loss, kl: res.kl, clipLowFrac: res.clipLowFrac, clipHighFrac: res.clipHighFrac, entropy: res.entropy };
}
