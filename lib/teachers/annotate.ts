// The COT construction loop, independent of Temporal and of the dataset format: for each sample,
// ask every teacher `samplesPerTeacher` times (memo first), parse and verify each reply, keep one
// chain by the policy, and give the label as a hint to samples nobody got right when `rationalize`
// is on. Samples go in batches; each teacher's own semaphore bounds its in-flight asks. After a
// batch the memo is fsynced and progress is reported, so a crash loses at most the asks in flight.
import { ClgrpoError, ErrorType } from '../errors';
import { memoKey } from './memo';
import type { TeacherMemo } from './memo';
import { canonicalCompletion, parseCompletion, verdictOf } from './parse';
import { Semaphore } from './pool';
import { selectChain, stripHint } from './select';
import type { KeepMode, Policy, ReplyRecord } from './select';
import type { Teacher, TeacherSample } from './types';

export interface AnnotateOptions {
  teachers: readonly Teacher[];
  samplesPerTeacher: number;
  policy: Policy;
  keep: KeepMode;
  rationalize: boolean;
  memo: TeacherMemo;
  batchSize: number;
  signal?: AbortSignal;
  onBatch?: (p: { done: number; total: number; kept: number }) => void;
}

export interface SampleResult {
  sample: TeacherSample;
  replies: ReplyRecord[];
  chosen: ReplyRecord | null;
}

interface Ask {
  teacher: Teacher;
  tryIndex: number;
  hint?: string;
}

export async function annotate(samples: readonly TeacherSample[], opts: AnnotateOptions): Promise<SampleResult[]> {
  const limits = new Map(opts.teachers.map((t) => [t.id, new Semaphore(t.concurrency)]));
  const results: SampleResult[] = [];
  let kept = 0;
  for (let start = 0; start < samples.length; start += opts.batchSize) {
    throwIfCancelled(opts.signal);
    const batch = samples.slice(start, start + opts.batchSize);
    const firstAsks: Ask[] = opts.teachers.flatMap((teacher) =>
      Array.from({ length: opts.samplesPerTeacher }, (_, tryIndex) => ({ teacher, tryIndex })));
    const replies = await askAll(batch.map((s) => firstAsks.map((a) => ({ sample: s, ...a }))), limits, opts);
    if (opts.rationalize) {
      const unsolved = batch.map((s, i) => ({ s, i })).filter(({ i }) => !replies[i].some((r) => r.verdict === 'verified'));
      const hinted = await askAll(unsolved.map(({ s }) => opts.teachers.map((teacher) => ({ sample: s, teacher, tryIndex: 0, hint: s.label }))), limits, opts);
      unsolved.forEach(({ i }, j) => replies[i].push(...hinted[j]));
    }
    opts.memo.sync();
    batch.forEach((sample, i) => {
      const chosen = selectChain(replies[i], opts.policy, opts.keep);
      if (chosen) kept++;
      results.push({ sample, replies: replies[i], chosen });
    });
    opts.onBatch?.({ done: results.length, total: samples.length, kept });
  }
  return results;
}

type SampleAsk = Ask & { sample: TeacherSample };

/**
 * Run every ask of a batch; the first failure aborts the rest (an auth error should not wait for
 * 60 s timeouts) and is the one reported, after all asks have settled so none writes late.
 */
async function askAll(groups: SampleAsk[][], limits: Map<string, Semaphore>, opts: AnnotateOptions): Promise<ReplyRecord[][]> {
  const abort = new AbortController();
  const onOuter = (): void => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  let firstError: unknown;
  const run = (a: SampleAsk): Promise<ReplyRecord> => askOne(a, limits.get(a.teacher.id) as Semaphore, opts.memo, abort.signal)
    .catch((e: unknown) => {
      firstError ??= e;
      abort.abort(e);
      throw e;
    });
  const settled = await Promise.allSettled(groups.map((g) => Promise.all(g.map(run))));
  opts.signal?.removeEventListener('abort', onOuter);
  if (firstError !== undefined) throw opts.signal?.aborted ? cancelledError(opts.signal) : firstError;
  return settled.map((s) => (s as PromiseFulfilledResult<ReplyRecord[]>).value);
}

async function askOne(a: SampleAsk, limit: Semaphore, memo: TeacherMemo, signal: AbortSignal): Promise<ReplyRecord> {
  const key = memoKey({ identity: a.teacher.identity, promptHash: a.teacher.promptHash, imageSha256: a.sample.imageSha256, tryIndex: a.tryIndex, hint: a.hint });
  let text = memo.get(key)?.text;
  const fromMemo = text !== undefined;
  if (text === undefined) {
    text = (await limit.run(() => {
      throwIfCancelled(signal);
      return a.teacher.ask(a.sample, { tryIndex: a.tryIndex, hint: a.hint, signal });
    })).text;
    memo.put({ key, teacher: a.teacher.id, index: a.sample.index, text });
  }
  return judge(a, text, fromMemo);
}

/** Parse, strip the hint from rationalized chains, and verify against the label. */
export function judge(a: SampleAsk, text: string, fromMemo: boolean): ReplyRecord {
  const base = { index: a.sample.index, teacher: a.teacher.id, tryIndex: a.tryIndex, pass: a.hint === undefined ? 'ask' as const : 'rationalize' as const, text, fromMemo };
  const parsed = parseCompletion(text);
  if (!parsed.ok) return { ...base, verdict: 'malformed', reason: parsed.reason };
  const think = a.hint === undefined ? parsed.think : stripHint(parsed.think, a.hint);
  if (think === '') return { ...base, verdict: 'malformed', reason: 'nothing left after removing the hint' };
  const verdict = verdictOf(parsed, a.sample.label);
  const answer = verdict === 'verified' ? a.sample.label : parsed.answer;
  return { ...base, verdict, think, answer, normalized: parsed.normalized };
}

export function completionOf(r: ReplyRecord): string {
  return canonicalCompletion(r.think ?? '', r.answer ?? '');
}

function cancelledError(signal: AbortSignal): ClgrpoError {
  return new ClgrpoError(ErrorType.Cancelled, 'cot stage cancelled; finished teacher replies are kept in the memo', { cause: signal.reason });
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelledError(signal);
}
