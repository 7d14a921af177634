// Code versions, part of every stage key: bump a kind's entry when a change alters what that stage
// produces (its owner does), so stale artifacts are not reused. Plain data on purpose: the plan
// compiler must not import TF.js or the stage implementations to compute keys.
import type { StageKind } from './types';

export const CODE_VERSIONS: Record<StageKind, string> = {
  dataset: 'dataset@1',
  pretrain: 'pretrain@1',
  cot: 'cot@1',
  sft: 'sft@1',
  grpo: 'grpo@1',
  eval: 'eval@1',
};

/** Mirrors REWARD_VERSIONS in lib/ml/rewards (test/unit/plan/golden.test.ts keeps them equal); grpo keys include the rewards used. */
export const REWARD_VERSIONS: Record<string, string> = {
  format: '1',
  accuracy: '1',
};

/** The code part of a stage key: the kind's version, plus each used reward's for grpo. */
export function codeVersionOf(kind: StageKind, params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = { stage: CODE_VERSIONS[kind] };
  if (kind === 'grpo' && Array.isArray(params.rewards)) {
    for (const r of params.rewards as { name?: unknown }[]) {
      const name = String(r?.name);
      out[`reward.${name}`] = REWARD_VERSIONS[name] ?? `${name}@unknown`;
    }
  }
  return out;
}
