// The cot stage's report (shape in docs/CONTRACTS.md "Report inputs"): how many samples were asked
// and kept per class, how each teacher did, how often teachers agree, and why replies were
// skipped. Pure: computed from the per-sample results, so it is tested on fixtures.
import type { SampleResult } from './annotate';

export interface Rate { asked: number; kept: number; keepRate: number }
export interface TeacherRate { asked: number; verified: number; wrong: number; malformed: number; keepRate: number }

export interface CotReport {
  asked: number;
  kept: number;
  keepRate: number;
  perClass: Record<string, Rate>;
  /** First-pass replies only; the rationalization pass is counted in `rationalized`. */
  perTeacher: Record<string, TeacherRate>;
  /** Pairs of teachers: on how many samples both gave a well-formed first answer, and agreed. */
  agreement: { pairs: Array<{ a: string; b: string; agree: number; total: number }> };
  malformed: number;
  malformedReasons: Record<string, number>;
  rationalized: { asked: number; kept: number };
  /** Kept chains per producing teacher. */
  keptByTeacher: Record<string, number>;
}

const rate = (n: number, d: number): number => (d === 0 ? 0 : n / d);

export function buildReport(results: readonly SampleResult[], labels: readonly string[], teacherIds: readonly string[]): CotReport {
  const perClass: Record<string, Rate> = Object.fromEntries(labels.map((l) => [l, { asked: 0, kept: 0, keepRate: 0 }]));
  const perTeacher: Record<string, TeacherRate> = Object.fromEntries(teacherIds.map((t) => [t, { asked: 0, verified: 0, wrong: 0, malformed: 0, keepRate: 0 }]));
  const keptByTeacher: Record<string, number> = Object.fromEntries(teacherIds.map((t) => [t, 0]));
  const malformedReasons: Record<string, number> = {};
  const rationalized = { asked: 0, kept: 0 };
  let kept = 0;
  let malformed = 0;
  for (const r of results) {
    const c = (perClass[r.sample.label] ??= { asked: 0, kept: 0, keepRate: 0 });
    c.asked++;
    if (r.chosen) {
      kept++;
      c.kept++;
      keptByTeacher[r.chosen.teacher] = (keptByTeacher[r.chosen.teacher] ?? 0) + 1;
    }
    if (r.replies.some((x) => x.pass === 'rationalize')) {
      rationalized.asked++;
      if (r.chosen?.pass === 'rationalize') rationalized.kept++;
    }
    for (const x of r.replies) {
      if (x.verdict === 'malformed') {
        malformed++;
        malformedReasons[x.reason ?? 'unknown'] = (malformedReasons[x.reason ?? 'unknown'] ?? 0) + 1;
      }
      if (x.pass !== 'ask') continue;
      const t = (perTeacher[x.teacher] ??= { asked: 0, verified: 0, wrong: 0, malformed: 0, keepRate: 0 });
      t.asked++;
      t[x.verdict]++;
    }
  }
  for (const c of Object.values(perClass)) c.keepRate = rate(c.kept, c.asked);
  for (const t of Object.values(perTeacher)) t.keepRate = rate(t.verified, t.asked);
  return {
    asked: results.length, kept, keepRate: rate(kept, results.length), perClass, perTeacher,
    agreement: { pairs: agreementPairs(results, teacherIds) }, malformed, malformedReasons, rationalized, keptByTeacher,
  };
}

/** Each teacher's first well-formed first-pass answer on a sample, compared pairwise. */
export function agreementPairs(results: readonly SampleResult[], teacherIds: readonly string[]): CotReport['agreement']['pairs'] {
  const pairs: CotReport['agreement']['pairs'] = [];
  for (let i = 0; i < teacherIds.length; i++) {
    for (let j = i + 1; j < teacherIds.length; j++) pairs.push({ a: teacherIds[i], b: teacherIds[j], agree: 0, total: 0 });
  }
  for (const r of results) {
    const answer = new Map<string, string>();
    for (const x of [...r.replies].sort((p, q) => p.tryIndex - q.tryIndex)) {
      if (x.pass === 'ask' && x.normalized !== undefined && !answer.has(x.teacher)) answer.set(x.teacher, x.normalized);
    }
    for (const p of pairs) {
      const a = answer.get(p.a);
      const b = answer.get(p.b);
      if (a === undefined || b === undefined) continue;
      p.total++;
      if (a === b) p.agree++;
    }
  }
  return pairs;
}
