// Group-relative advantages (CLGRPO.md, "GRPO"): each completion's reward is compared with the other
// completions of the same prompt, so no value network is needed. Pure arithmetic on numbers.

/** Added to the group's standard deviation so an almost-constant group does not blow up. */
export const ADVANTAGE_EPS = 1e-4;

/**
 * `(r − mean) / (std + 1e-4)` within consecutive groups of `groupSize` rewards. std is the sample
 * standard deviation (n − 1 in the denominator), as TRL's GRPOTrainer computes it, so numbers can
 * be compared with it. A group whose rewards are all equal gets zeros: it carries no signal, and
 * (r − mean) is exactly 0 there, so nothing divides 0 by 0.
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number): number[] {
  if (!Number.isInteger(groupSize) || groupSize < 2) {
    throw new RangeError(`groupAdvantages: groupSize must be an integer ≥ 2 (got ${groupSize})`);
  }
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(`groupAdvantages: ${rewards.length} rewards are not a whole number of groups of ${groupSize}`);
  }
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize);
    const mean = group.reduce((a, b) => a + b, 0) / groupSize;
    const allEqual = group.every((r) => r === group[0]);
    const variance = group.reduce((a, r) => a + (r - mean) ** 2, 0) / (groupSize - 1);
    const std = Math.sqrt(variance);
    for (let i = 0; i < groupSize; i++) out[g + i] = allEqual ? 0 : (group[i] - mean) / (std + ADVANTAGE_EPS);
  }
  return out;
}

export interface GroupStats {
  /** Fraction of groups whose rewards are all equal (zero advantage: no learning signal). */
  flatGroupFrac: number;
  /** Mean over groups of the within-group standard deviation. */
  meanStd: number;
}

export function groupStats(rewards: readonly number[], groupSize: number): GroupStats {
  let flat = 0;
  let stdSum = 0;
  const groups = rewards.length / groupSize;
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize);
    const mean = group.reduce((a, b) => a + b, 0) / groupSize;
    if (group.every((r) => r === group[0])) flat++;
    stdSum += Math.sqrt(group.reduce((a, r) => a + (r - mean) ** 2, 0) / (groupSize - 1));
  }
  return { flatGroupFrac: groups ? flat / groups : 0, meanStd: groups ? stdSum / groups : 0 };
}
