// Choosing the one chain a sample keeps, and cleaning rationalized chains. Pure functions over the
// replies of one sample, so the policies are tested on fixtures with known answers.
//
// Policies (candidates = the verified replies; with keep: all and no verified reply, the
// well-formed ones):
//   first    — the first candidate in teacher order, then try order.
//   shortest — the candidate with the fewest characters of reasoning; ties → first.
//   majority — group candidates by normalized answer and take the largest group (ties → the group
//              seen first); within it, group by normalized reasoning (lower case, punctuation and
//              spacing ignored) and take the largest group (ties → the group holding the shorter
//              chain); return that group's shortest chain. With verified candidates the answer is
//              always the label, so majority picks the reasoning most teachers/tries agree on.
import { normalizeReasoning } from './parse';
import type { Verdict } from './parse';

export type Policy = 'first' | 'majority' | 'shortest';
export type KeepMode = 'verified' | 'all';

/** One teacher reply as recorded in replies.jsonl (never holds secrets). */
export interface ReplyRecord {
  index: number;
  teacher: string;
  tryIndex: number;
  pass: 'ask' | 'rationalize';
  verdict: Verdict;
  /** Why a malformed reply was skipped. */
  reason?: string;
  think?: string;
  answer?: string;
  /** Normalized answer, for agreement counts. */
  normalized?: string;
  text: string;
  /** True when the text came from the memo rather than a new ask. */
  fromMemo: boolean;
}

export function candidatesOf(replies: readonly ReplyRecord[], keep: KeepMode): ReplyRecord[] {
  const verified = replies.filter((r) => r.verdict === 'verified');
  if (verified.length > 0 || keep === 'verified') return verified;
  return replies.filter((r) => r.verdict === 'wrong');
}

function thinkLength(r: ReplyRecord): number {
  return (r.think ?? '').length;
}

function shortestOf(rs: readonly ReplyRecord[]): ReplyRecord {
  return rs.reduce((best, r) => (thinkLength(r) < thinkLength(best) ? r : best));
}

/** Groups in first-seen order. */
function groupBy(rs: readonly ReplyRecord[], key: (r: ReplyRecord) => string): ReplyRecord[][] {
  const groups = new Map<string, ReplyRecord[]>();
  for (const r of rs) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()];
}

function largest(groups: ReplyRecord[][], tie: (a: ReplyRecord[], b: ReplyRecord[]) => boolean): ReplyRecord[] {
  return groups.reduce((best, g) => (g.length > best.length || (g.length === best.length && tie(g, best)) ? g : best));
}

/** The kept reply of one sample, or null when no candidate passes. */
export function selectChain(replies: readonly ReplyRecord[], policy: Policy, keep: KeepMode): ReplyRecord | null {
  const cands = candidatesOf(replies, keep);
  if (cands.length === 0) return null;
  switch (policy) {
    case 'first':
      return cands[0];
    case 'shortest':
      return shortestOf(cands);
    case 'majority': {
      const byAnswer = largest(groupBy(cands, (r) => r.normalized ?? ''), () => false);
      const byReasoning = largest(groupBy(byAnswer, (r) => normalizeReasoning(r.think ?? '')),
        (g, best) => thinkLength(shortestOf(g)) < thinkLength(shortestOf(best)));
      return shortestOf(byReasoning);
    }
    default: {
      const never: never = policy;
      throw new Error(`unknown policy ${String(never)}`);
    }
  }
}

const HINT_WORDS = /\b(hint|hinted|given|told|provided|supplied|stated|ground[- ]truth|correct (answer|label)|the label|labell?ed)\b/i;

/**
 * Remove every sentence of a rationalized chain that mentions the hint (the label stated as given),
 * so the chain reasons from the image rather than quoting the answer. Returns '' when nothing is left.
 */
export function stripHint(think: string, hint: string): string {
  const sentences = think.split(/(?<=[.!?])\s+/);
  const hintRe = new RegExp(`\\b${hint.replace(/[^a-z0-9]/gi, '')}\\b`, 'i');
  const kept = sentences.filter((s) => !(HINT_WORDS.test(s) && (hintRe.test(s) || /\b(hint|given|told)\b/i.test(s))));
  return kept.join(' ').trim();
}
