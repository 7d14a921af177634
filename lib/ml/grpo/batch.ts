// Shapes of a GRPO rollout batch, as plain arrays: which prompts a step takes (a seeded cursor over
// the train split, a pure function of (seed, step) so resuming needs only the step), and how
// sampled completions of unequal length become the padded [N, T] token, mask and log-prob arrays
// the loss consumes. No tensors here, so it is tested exactly.
import { rngFor } from '../../rng';

/**
 * The train-split indices of the prompts of `step` (0-based): a fresh seeded permutation per pass
 * over the split, read `promptsPerStep` at a time. Depends only on its arguments.
 */
export function promptIndices(seed: number, step: number, promptsPerStep: number, nTrain: number): number[] {
  if (nTrain < 1) throw new RangeError('promptIndices: the train split is empty');
  const out: number[] = [];
  for (let k = 0; k < promptsPerStep; k++) {
    const cursor = step * promptsPerStep + k;
    const pass = Math.floor(cursor / nTrain);
    out.push(permutation(seed, pass, nTrain)[cursor % nTrain]);
  }
  return out;
}

const permCache = new Map<string, number[]>();
function permutation(seed: number, pass: number, n: number): number[] {
  const key = `${seed}/${pass}/${n}`;
  let p = permCache.get(key);
  if (!p) {
    p = rngFor(seed, 'grpo', 'prompts', pass).shuffle(Array.from({ length: n }, (_, i) => i));
    if (permCache.size > 8) permCache.clear();
    permCache.set(key, p);
  }
  return p;
}

/** One sampled completion: its token ids (ending with EOS when the model stopped) and their log-probs. */
export interface SampledCompletion {
  tokens: number[];
  /** log-prob of each token under the sampling policy (same length as tokens). */
  logprobs: number[];
}

export interface PaddedCompletions {
  /** [N, T] token ids, padded with `pad`. */
  tokens: Int32Array;
  /** [N, T] 1 for real completion tokens (through the first EOS), 0 for padding. */
  mask: Float32Array;
  /** [N, T] sampling log-probs, 0 at padding. */
  oldLogp: Float32Array;
  n: number;
  /** Longest completion: the padded width. */
  width: number;
  /** Completion lengths (tokens counted by the mask). */
  lengths: number[];
}

/**
 * Pads completions to the longest one. Tokens after the first EOS are cut (the sampler may keep
 * writing padding); a completion that never emitted EOS was truncated at maxNewTokens and keeps all
 * its tokens (it is still scored: it usually fails the format reward, which is the signal).
 */
export function padCompletions(cs: readonly SampledCompletion[], eos: number, pad = eos): PaddedCompletions {
  const cut = cs.map((c) => {
    const e = c.tokens.indexOf(eos);
    const len = e < 0 ? c.tokens.length : e + 1;
    return { tokens: c.tokens.slice(0, len), logprobs: c.logprobs.slice(0, len) };
  });
  const width = Math.max(1, ...cut.map((c) => c.tokens.length));
  const n = cs.length;
  const tokens = new Int32Array(n * width).fill(pad);
  const mask = new Float32Array(n * width);
  const oldLogp = new Float32Array(n * width);
  cut.forEach((c, i) => {
    if (c.logprobs.length !== c.tokens.length) {
      throw new RangeError(`padCompletions: completion ${i} has ${c.tokens.length} tokens but ${c.logprobs.length} log-probs`);
    }
    tokens.set(c.tokens, i * width);
    mask.fill(1, i * width, i * width + c.tokens.length);
    oldLogp.set(c.logprobs, i * width);
  });
  return { tokens, mask, oldLogp, n, width, lengths: cut.map((c) => c.tokens.length) };
}

/** Rows [start, start + count) of a row-major [N, width] array. */
export function rows<T extends Int32Array | Float32Array>(a: T, width: number, start: number, count: number): T {
  return a.subarray(start * width, (start + count) * width) as T;
}

/** The text a completion decodes to: tokens through (not including) EOS. */
export function completionTokensForText(tokens: readonly number[], eos: number): number[] {
  const e = tokens.indexOf(eos);
  return e < 0 ? tokens.slice() : tokens.slice(0, e);
}
