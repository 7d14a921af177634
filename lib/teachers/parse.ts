// Parsing and verification of teacher replies (CLGRPO.md "COT verification"). A reply is kept only
// when it is exactly `<think>…</think><answer>…</answer>` and its normalized answer equals the
// label. Answer normalization is the one the accuracy reward uses (lib/ml/rewards), so a chain
// kept here is one the accuracy reward would also score as right.
import { normalizeAnswer } from '../ml/rewards';

export type ParsedCompletion =
  | { ok: true; think: string; answer: string; normalized: string }
  | { ok: false; reason: string };

export type Verdict = 'verified' | 'wrong' | 'malformed';

const TAG = /<\/?(think|answer)>/g;

/**
 * Split a reply into reasoning and answer. Surrounding whitespace is tolerated (chat models add
 * newlines); anything else outside the two blocks, repeated or nested tags, or an empty block is
 * malformed, with the reason recorded so the report can say why replies were skipped.
 */
export function parseCompletion(text: string): ParsedCompletion {
  const tags = [...text.matchAll(TAG)].map((m) => m[0]);
  const expected = ['<think>', '</think>', '<answer>', '</answer>'];
  if (tags.length === 0) return { ok: false, reason: 'no <think>/<answer> tags' };
  if (tags.length !== 4 || tags.some((t, i) => t !== expected[i])) {
    return { ok: false, reason: `tags out of order or repeated: ${tags.slice(0, 6).join('')}` };
  }
  const m = /^\s*<think>([\s\S]*)<\/think>\s*<answer>([\s\S]*)<\/answer>\s*$/.exec(text);
  if (m === null) return { ok: false, reason: 'text outside the <think> and <answer> blocks' };
  const think = m[1].replace(/\s+/g, ' ').trim();
  const answer = m[2].trim();
  if (think === '') return { ok: false, reason: 'empty <think> block' };
  const normalized = normalizeAnswer(answer);
  if (normalized === '') return { ok: false, reason: 'empty <answer> block' };
  return { ok: true, think, answer, normalized };
}

/** Whether a parsed answer names the label (case, punctuation, articles ignored). */
export function answerMatches(answer: string, label: string): boolean {
  return normalizeAnswer(answer) === normalizeAnswer(label);
}

export function verdictOf(parsed: ParsedCompletion, label: string): Verdict {
  if (!parsed.ok) return 'malformed';
  return answerMatches(parsed.answer, label) ? 'verified' : 'wrong';
}

/** The completion the COT dataset stores: canonical spacing, the label spelled as in the dataset. */
export function canonicalCompletion(think: string, answer: string): string {
  return `<think>${think}</think><answer>${answer}</answer>`;
}

/** Normalized reasoning, for counting "the same chain" across teachers and tries. */
export function normalizeReasoning(think: string): string {
  return think.toLowerCase().replace(/[^a-z0-9 ]+/g, ' ').replace(/\s+/g, ' ').trim();
}

export function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}
