// One set of knobs for both trainers (docs/trainers.md "Knob table"): which spec param each trainer
// honours and under what name TRL takes it. A knob a trainer cannot honour is a located spec error
// here, never a silent default. The Python trainer (trainers/trl) does the translation itself from
// the resolved params; this table is what the spec promises, and the trl tests check the promise
// against the `trlConfig` the trainer reports.
import { ErrorType } from '../errors';
import type { JsonObject } from '../canonical';
import { planKind, trainerOf, type SpecKind, type Trainer } from './kinds';
import type { SemProblem } from './semantics';

/** Per knob: how each trainer honours it (a short description), or null when it cannot. */
export interface KnobSupport { tfjs: string | null; trl: string | null; why?: string }

type TrainerKind = 'sft' | 'grpo' | 'eval';

const COMMON: Record<string, KnobSupport> = {
  trainer: { tfjs: 'TF.js VLM', trl: 'PyTorch + TRL' },
  dtype: { tfjs: null, trl: 'torch_dtype / bf16', why: 'trainer tfjs computes in float32 only' },
};

export const KNOBS: Record<TrainerKind, Record<string, KnobSupport>> = {
  sft: {
    ...COMMON,
    target: { tfjs: 'completion text', trl: 'completion text' },
    epochs: { tfjs: 'epochs', trl: 'num_train_epochs' },
    steps: { tfjs: 'steps', trl: 'max_steps' },
    batchSize: { tfjs: 'batch', trl: 'per_device_train_batch_size' },
    lr: { tfjs: 'AdamW lr', trl: 'learning_rate' },
    warmupSteps: { tfjs: 'linear warm-up', trl: 'warmup_steps' },
    weightDecay: { tfjs: 'AdamW decay', trl: 'weight_decay' },
    gradClip: { tfjs: 'global-norm clip', trl: 'max_grad_norm' },
    checkpointEvery: { tfjs: 'checkpoints', trl: 'save_steps' },
    keepCheckpoints: { tfjs: 'checkpoints kept', trl: 'save_total_limit' },
  },
  grpo: {
    ...COMMON,
    rewards: { tfjs: 'reward registry', trl: 'reward_funcs + reward_weights' },
    steps: { tfjs: 'rollout batches', trl: 'max_steps = steps × iterations' },
    groupSize: { tfjs: 'G', trl: 'num_generations' },
    promptsPerStep: { tfjs: 'prompts per rollout', trl: 'generation batch = promptsPerStep × groupSize' },
    microBatch: { tfjs: 'completions per pass', trl: 'per_device_train_batch_size (gradient_accumulation_steps = batch / microBatch)' },
    iterations: { tfjs: 'updates per rollout', trl: 'num_iterations' },
    clip: { tfjs: 'asymmetric clip', trl: 'epsilon / epsilon_high' },
    beta: { tfjs: 'k3 KL', trl: 'beta' },
    lr: { tfjs: 'AdamW lr', trl: 'learning_rate' },
    temperature: { tfjs: 'sampling', trl: 'temperature' },
    topP: { tfjs: 'nucleus', trl: 'top_p' },
    maxNewTokens: { tfjs: 'completion cap', trl: 'max_completion_length' },
    checkpointEvery: { tfjs: 'checkpoints', trl: 'save_steps = checkpointEvery × iterations' },
    keepCheckpoints: { tfjs: 'checkpoints kept', trl: 'save_total_limit' },
  },
  eval: {
    ...COMMON,
    split: { tfjs: 'split', trl: 'split' },
    limit: { tfjs: 'limit', trl: 'limit' },
    maxNewTokens: { tfjs: 'greedy cap', trl: 'max_new_tokens (greedy)' },
    batchSize: { tfjs: 'batch', trl: 'generation batch' },
  },
};

function isTrainerKind(k: string): k is TrainerKind {
  return k === 'sft' || k === 'grpo' || k === 'eval';
}

/** Every knob set in the spec (as written) that the stage's trainer cannot honour, located at the knob. */
export function trainerRules(kind: SpecKind, raw: Record<string, unknown>, _resolved: JsonObject): SemProblem[] {
  const k = planKind(kind);
  if (!isTrainerKind(k)) return [];
  const trainer: Trainer = trainerOf(raw);
  const other: Trainer = trainer === 'trl' ? 'tfjs' : 'trl';
  const out: SemProblem[] = [];
  for (const key of Object.keys(raw)) {
    const s = KNOBS[k][key];
    if (!s || s[trainer] !== null) continue; // unknown keys are the schema's to report
    // dtype float32 is what tfjs computes in anyway: honoured, not an error.
    if (key === 'dtype' && trainer === 'tfjs' && raw.dtype === 'float32') continue;
    out.push({ segments: [key], at: 'key', severity: 'error', type: ErrorType.Spec,
      message: `${key} is not honoured by trainer ${trainer}${s.why ? ` (${s.why})` : ''}; the stage would silently run without it`,
      hint: s[other] !== null ? `remove ${key}, or set trainer: ${other}, which takes it as ${s[other]}` : `remove ${key}` });
  }
  return out;
}
