// Rewards of the GRPO stages and the one parser of model answers (CLGRPO.md, "Rewards").
// A spec names rewards by id with weights (`[{ name, weight }]`); the registry below maps a name to
// its function and to a version recorded in lineage. Stage keys no longer need it: this file is in
// the code identity of every kind that reaches it, so any edit re-runs them (lib/code/identity.ts).
// Pure functions of strings: no tensors, no I/O.
import { ClgrpoError, ErrorType } from '../errors';

/** What a reward sees about one completion. */
export interface RewardSample {
  completion: string;
  /** Ground-truth label of the prompt's sample. */
  label: string;
}

export type RewardFn = (s: RewardSample) => number;

export interface RewardDef {
  /** Bump when the function's value changes for any input. */
  version: string;
  description: string;
  fn: RewardFn;
}

export interface RewardSpec {
  name: string;
  weight: number;
}

// Whole-string match: a think block, then an answer block, nothing else. Neither block may contain
// a tag of the format, so `<think>a</think><answer>b</answer><answer>c</answer>` is not one match.
// Surrounding whitespace is tolerated because detokenizers and EOS handling may leave a newline.
const FORMAT_RE = /^\s*<think>((?:(?!<\/?think>|<\/?answer>)[\s\S])*)<\/think>\s*<answer>((?:(?!<\/?think>|<\/?answer>)[\s\S])*)<\/answer>\s*$/;
const ANSWER_RE = /<answer>((?:(?!<\/?answer>)[\s\S])*)<\/answer>/g;

/** 1 iff the whole completion is `<think>…</think><answer>…</answer>` with a non-empty answer. */
export function formatReward(s: RewardSample): number {
  const m = FORMAT_RE.exec(s.completion);
  return m !== null && normalizeAnswer(m[2]) !== '' ? 1 : 0;
}

/** 1 iff the normalized content of the last `<answer>` block equals the normalized label. */
export function accuracyReward(s: RewardSample): number {
  const a = extractTaggedAnswer(s.completion);
  return a !== null && a === normalizeAnswer(s.label) ? 1 : 0;
}

/**
 * Case, surrounding whitespace and punctuation, inner runs of whitespace and a leading article do
 * not change an answer: "  The Awe. " and "awe" are the same label.
 */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[\s"'`.,;:!?()[\]{}-]+|[\s"'`.,;:!?()[\]{}-]+$/g, '')
    .replace(/^(the|a|an) /, '')
    .trim();
}

/**
 * Normalized content of the last `<answer>…</answer>` (the model's final word, as
 * lib/ml/prompt.ts parseCompletion reads it), or null when there is none.
 */
export function extractTaggedAnswer(completion: string): string | null {
  const all = [...completion.matchAll(ANSWER_RE)];
  return all.length === 0 ? null : normalizeAnswer(all[all.length - 1][1]);
}

/**
 * The label a completion names, or null when unparseable. A tagged answer wins; with `allowPlain`
 * (the label-SFT baseline emits the bare label), a completion that is only a label counts too.
 * Anything not in `labels` is unparseable: eval counts it as wrong.
 */
export function parseAnswer(completion: string, labels: readonly string[], allowPlain = true): string | null {
  const byNorm = new Map(labels.map((l) => [normalizeAnswer(l), l] as const));
  const tagged = extractTaggedAnswer(completion);
  if (tagged !== null) return byNorm.get(tagged) ?? null;
  if (!allowPlain || /<\/?(think|answer)>/.test(completion)) return null;
  return byNorm.get(normalizeAnswer(completion)) ?? null;
}

/** The registry: spec names → reward. Names are contracts (they appear in specs and stage keys). */
export const REWARDS: Readonly<Record<string, RewardDef>> = {
  format: {
    version: '1',
    description: '1 iff the completion is exactly <think>…</think><answer>…</answer>',
    fn: formatReward,
  },
  accuracy: {
    version: '1',
    description: '1 iff the normalized <answer> equals the label',
    fn: accuracyReward,
  },
};

/** Version of each reward, recorded in grpo lineage for readers; stage keys follow the code itself (lib/code/identity.ts). */
export const REWARD_VERSIONS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(REWARDS).map(([k, v]) => [k, v.version]),
);

export interface ResolvedReward extends RewardSpec {
  fn: RewardFn;
}

/** Accepts the spec's list (names or `{ name, weight }`), rejects unknown names and bad weights. */
export function resolveRewards(specs: ReadonlyArray<string | RewardSpec>): ResolvedReward[] {
  const problems: string[] = [];
  const out: ResolvedReward[] = [];
  if (specs.length === 0) problems.push('rewards is empty: list at least one of ' + Object.keys(REWARDS).join(', '));
  for (const [i, s] of specs.entries()) {
    const spec = typeof s === 'string' ? { name: s, weight: 1 } : s;
    const def = Object.prototype.hasOwnProperty.call(REWARDS, spec.name) ? REWARDS[spec.name] : undefined;
    if (def === undefined) {
      problems.push(`rewards[${i}]: unknown reward '${spec.name}' (known: ${Object.keys(REWARDS).join(', ')})`);
    } else if (!Number.isFinite(spec.weight)) {
      problems.push(`rewards[${i}]: weight of '${spec.name}' must be a finite number (got ${spec.weight})`);
    } else {
      out.push({ name: spec.name, weight: spec.weight, fn: def.fn });
    }
  }
  if (problems.length) {
    throw new ClgrpoError(ErrorType.Config, `grpo params: ${problems.join('; ')}; fix the spec's rewards list`);
  }
  return out;
}

export interface RewardScore {
  /** Weighted sum over the rewards: the scalar GRPO normalizes within a group. */
  total: number;
  /** Unweighted value of each reward by name, for the curves. */
  parts: Record<string, number>;
}

export function scoreCompletion(rewards: readonly ResolvedReward[], sample: RewardSample): RewardScore {
  const parts: Record<string, number> = {};
  let total = 0;
  for (const r of rewards) {
    const v = r.fn(sample);
    parts[r.name] = v;
    total += r.weight * v;
  }
  return { total, parts };
}
