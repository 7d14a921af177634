// The `grpo` stage (and its `clgrpo` alias, which the compiler turns into this kind with the
// ClipLow defaults): stages 2–4 of the method. Loads the input model twice — the policy to train and
// the frozen reference — runs lib/ml/grpo/trainer.ts with checkpoints in the stage's work dir, and
// writes a model artifact like sft's: model.safetensors, config.json (the input's model config and
// tokenizer) and training.json with the curves. A non-finite value throws a Divergence error before
// anything is written to outDir, so bad weights are never published.
// `trainer: trl` runs TRL's GRPOTrainer on a Hugging Face model in the Python trainer with the same
// knobs (docs/trainers.md "Knob table"); the published artifact is the HF model dir.
import { ClgrpoError, ErrorType } from '../lib/errors';
import { backendLineage, initBackend } from '../lib/ml/backend';
import { openDataset } from '../lib/ml/data/dataset';
import { trainGrpo, type GrpoParams } from '../lib/ml/grpo/trainer';
import { loadModelDir, writeModelFiles } from '../lib/ml/model-io';
import { REWARD_VERSIONS, resolveRewards } from '../lib/ml/rewards';
import { trainerOf } from '../lib/spec/kinds';
import { finishTrlTraining, inputOf, runTrl } from '../lib/stage/trl-stage';
import { redactSecrets } from './failures';
import type { ProgressDetails, ResolvedInput, StageContext, StageImplementation, StageOutput } from './types';
import type { JsonObject } from '../lib/canonical';

function input(ctx: StageContext, name: string): ResolvedInput {
  const i = ctx.inputs.find((x) => x.input === name);
  if (!i) {
    throw new ClgrpoError(ErrorType.Config,
      `grpo stage '${ctx.stage.id}' needs input '${name}'; got ${ctx.inputs.map((x) => x.input).join(', ') || 'none'}`);
  }
  return i;
}

/** Cross-field checks the schema cannot express, all reported at once, with numbers. */
export function checkGrpoParams(p: GrpoParams, where: string): void {
  const problems: string[] = [];
  const posInt = (k: keyof GrpoParams) => {
    const v = p[k] as unknown as number;
    if (!(Number.isInteger(v) && v > 0)) problems.push(`${k} must be a positive integer (got ${v})`);
  };
  (['steps', 'groupSize', 'promptsPerStep', 'microBatch', 'iterations', 'maxNewTokens', 'checkpointEvery', 'keepCheckpoints'] as const).forEach(posInt);
  if (p.groupSize < 2) problems.push(`groupSize must be ≥ 2 for group-relative advantages (got ${p.groupSize})`);
  const batch = p.promptsPerStep * p.groupSize;
  if (batch % p.microBatch !== 0 && p.microBatch < batch) {
    problems.push(`promptsPerStep × groupSize = ${batch} is not divisible by microBatch ${p.microBatch}`);
  }
  if (!(p.clip?.low >= 0 && p.clip.low < 1)) problems.push(`clip.low must be in [0, 1) (got ${p.clip?.low})`);
  if (!(p.clip?.high >= 0)) problems.push(`clip.high must be ≥ 0 (got ${p.clip?.high})`);
  if (!(p.beta >= 0)) problems.push(`beta must be ≥ 0 (got ${p.beta})`);
  if (!(p.lr > 0)) problems.push(`lr must be > 0 (got ${p.lr})`);
  if (!(p.temperature > 0)) problems.push(`temperature must be > 0 for sampling (got ${p.temperature})`);
  if (!(p.topP > 0 && p.topP <= 1)) problems.push(`topP must be in (0, 1] (got ${p.topP})`);
  if (problems.length) throw new ClgrpoError(ErrorType.Config, `${where}: ${problems.join('; ')}`);
  resolveRewards(p.rewards);
}

function rewardLineage(p: GrpoParams) {
  return Object.fromEntries(resolveRewards(p.rewards).map((r) => [r.name, { weight: r.weight, version: REWARD_VERSIONS[r.name] }]));
}

/** trainer trl: the Python trainer gets the HF model dir and the dataset; the rewards are the same registry's, re-implemented there. */
async function runTrlGrpo(ctx: StageContext, p: GrpoParams): Promise<StageOutput> {
  const model = inputOf(ctx, 'model', ['hf-model']);
  const dataset = inputOf(ctx, 'dataset', ['dataset']);
  const r = await runTrl(ctx, { command: 'grpo', model: model.dir, inputs: { dataset: dataset.dir } }, { redact: (t) => redactSecrets(t, ctx.env) });
  return finishTrlTraining(ctx, 'grpo', r, model, { reference: model.artifactId, rewards: rewardLineage(p) });
}

export const runGrpoStage: StageImplementation = async (ctx) => {
  const p = ctx.stage.params as unknown as GrpoParams;
  checkGrpoParams(p, `grpo stage '${ctx.stage.id}'`);
  if (trainerOf(ctx.stage.params) === 'trl') return runTrlGrpo(ctx, p);
  const modelIn = input(ctx, 'model');
  const dataIn = input(ctx, 'dataset');
  await initBackend({ env: ctx.env });
  const dataset = openDataset(dataIn.dir);
  const policy = loadModelDir(modelIn.dir);
  const reference = loadModelDir(modelIn.dir);
  const warned: string[] = [];
  // A warning stays visible in every later heartbeat's phase (the CLI's status line), not just one.
  const beat = (d: ProgressDetails): void => ctx.heartbeat(warned.length ? { ...d, phase: `${d.phase ?? 'training'} (warning: ${warned.join(', ')})` } : d);
  try {
    if (ctx.previousProgress) {
      ctx.log.info(`grpo '${ctx.stage.id}': previous attempt reported step ${ctx.previousProgress.step}; resuming from the newest intact checkpoint on disk`);
    }
    const res = await trainGrpo({
      policy: policy.model, reference: reference.model, tokenizer: policy.tokenizer, dataset, params: p,
      seed: ctx.stage.seed, workDir: ctx.workDir, signal: ctx.signal,
      heartbeat: beat,
      warn: (code, message) => {
        if (!warned.includes(code)) warned.push(code);
        ctx.log.warn(`grpo warning ${code}: ${message}`);
      },
    });
    beat({ step: p.steps, total: p.steps, phase: 'writing artifact' });
    writeModelFiles(ctx.outDir, policy.model, policy.tokenizer, { kind: 'grpo', steps: p.steps, curves: res.curves });
    const keep = ['reward.total', 'reward.format', 'reward.accuracy', 'accuracy', 'formatRate', 'kl', 'clipLowFrac', 'clipHighFrac', 'entropy', 'zeroAdvantageFrac'];
    const metrics = Object.fromEntries(keep.filter((k) => k in res.last).map((k) => [k, res.last[k]]));
    return {
      kind: 'model',
      metrics,
      lineage: {
        backend: backendLineage(),
        reference: modelIn.artifactId,
        rewards: rewardLineage(p),
        resumedFromStep: res.resumedFrom,
        // Present when this attempt resumed: exact (same backend, TF.js and CPU kind) or not, and both origins.
        ...(res.resume ? { resume: JSON.parse(JSON.stringify(res.resume)) as JsonObject } : {}),
        ...(res.warnings.length ? { warnings: res.warnings } : {}),
        medianStepMs: { sampling: res.timing.sampleMs, reference: res.timing.referenceMs, update: res.timing.updateMs },
      },
      summary: { steps: p.steps, reward: Number((res.last['reward.total'] ?? 0).toFixed(3)), kl: Number((res.last.kl ?? 0).toFixed(4)) },
    };
  } finally {
    policy.model.dispose();
    reference.model.dispose();
  }
};
