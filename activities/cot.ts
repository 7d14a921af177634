// The `cot` stage (DESIGN.md §4, CLGRPO.md "COT verification"): teachers turn the dataset's train
// split into <think>…</think><answer>…</answer> chains; a chain is kept only when its answer equals
// the label. Writes cot.jsonl (kept chains), replies.jsonl (every reply with its verdict) and
// report.json (per class, per teacher, agreement, malformed). Resumable: every finished ask is in
// the memo under ctx.workDir, so a retried or rerun stage asks only what is missing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { openDataset, encodePng } from '../lib/ml/data/dataset';
import { annotate, completionOf } from '../lib/teachers/annotate';
import type { SampleResult } from '../lib/teachers/annotate';
import { createTeachers } from '../lib/teachers';
import type { TeacherSpec } from '../lib/teachers';
import { TeacherMemo } from '../lib/teachers/memo';
import { promptHash } from '../lib/teachers/prompt';
import { buildReport } from '../lib/teachers/report';
import { redact } from '../lib/teachers/retry';
import type { RetryPolicy } from '../lib/teachers/retry';
import type { KeepMode, Policy } from '../lib/teachers/select';
import type { TeacherSample } from '../lib/teachers/types';
import type { JsonObject } from '../lib/canonical';
import type { ProgressDetails, StageContext, StageImplementation, StageOutput } from './types';

export interface CotParams {
  teachers: TeacherSpec[];
  samplesPerTeacher: number;
  policy: Policy;
  keep: KeepMode;
  rationalize: boolean;
  limit?: number;
}

/** What tests and benches may tune; the worker uses the defaults. */
export interface CotStageOptions {
  retry?: Partial<RetryPolicy>;
  random?: () => number;
  /** Samples per batch: one heartbeat and one memo fsync each (default 32). */
  batchSize?: number;
  /** Interval of the keep-alive heartbeat between batches (default 5000 ms). */
  keepAliveMs?: number;
}

/** Params arrive resolved by the compiler; this guards direct callers and old plans. */
export function readCotParams(p: JsonObject): CotParams {
  const teachers = p.teachers as unknown as TeacherSpec[];
  if (!Array.isArray(teachers)) throw new ClgrpoError(ErrorType.Config, 'cot params: teachers must be a list of { type: attributes | openai, ... }');
  const out: CotParams = {
    teachers, samplesPerTeacher: (p.samplesPerTeacher as number | undefined) ?? 1, policy: (p.policy as Policy | undefined) ?? 'first',
    keep: (p.keep as KeepMode | undefined) ?? 'verified', rationalize: (p.rationalize as boolean | undefined) ?? false,
    limit: typeof p.limit === 'number' ? p.limit : undefined,
  };
  if (!Number.isInteger(out.samplesPerTeacher) || out.samplesPerTeacher < 1) {
    throw new ClgrpoError(ErrorType.Config, `cot params: samplesPerTeacher must be an integer ≥ 1 (got ${out.samplesPerTeacher})`);
  }
  return out;
}

export function createCotStage(options: CotStageOptions = {}): StageImplementation {
  return async (ctx: StageContext): Promise<StageOutput> => {
    const params = readCotParams(ctx.stage.params);
    const input = ctx.inputs.find((i) => i.input === 'dataset');
    if (!input) throw new ClgrpoError(ErrorType.Config, `stage '${ctx.stage.id}': the cot stage needs a 'dataset' input (got ${ctx.inputs.map((i) => i.input).join(', ') || 'none'})`);
    const ds = openDataset(input.dir);
    const rows = ds.samples('train').slice(0, params.limit ?? undefined);
    const teachers = createTeachers(params.teachers, { env: ctx.env, labels: ds.meta.labels, seed: ctx.stage.seed, retry: options.retry, random: options.random });
    const secrets = params.teachers.map((t) => (t.type === 'openai' && t.apiKeyEnv ? ctx.env[t.apiKeyEnv] : undefined));
    const samples: TeacherSample[] = rows.map((r) => ({
      index: r.index, label: r.label, labelId: r.labelId, attributes: r.attributes, imageSha256: r.imageSha256,
      png: () => encodePng(ds.image('train', r.index), ds.meta.imageSize),
    }));
    const memo = TeacherMemo.open(ctx.workDir);
    const resumed = memo.size;
    ctx.log.info(`cot: ${samples.length} samples, teachers ${teachers.map((t) => t.id).join(', ')}, ${resumed} replies already in the memo`);
    let progress: ProgressDetails = { step: 0, total: samples.length, phase: 'asking teachers', metrics: { keepRate: 0 } };
    ctx.heartbeat(progress);
    // A batch against a slow endpoint can outlast the heartbeat timeout: repeat the latest progress
    // meanwhile (each request has its own timeout, so this cannot keep a hung attempt alive forever).
    const keepAlive = setInterval(() => ctx.heartbeat(progress), options.keepAliveMs ?? 5000);
    let results: SampleResult[];
    try {
      results = await annotate(samples, {
        teachers, samplesPerTeacher: params.samplesPerTeacher, policy: params.policy, keep: params.keep,
        rationalize: params.rationalize, memo, batchSize: options.batchSize ?? 32, signal: ctx.signal,
        onBatch: (p) => {
          progress = { step: p.done, total: p.total, phase: 'asking teachers', metrics: { keepRate: p.done ? p.kept / p.done : 0 } };
          ctx.heartbeat(progress);
        },
      });
    } finally {
      clearInterval(keepAlive);
      memo.close();
    }
    ctx.heartbeat({ step: samples.length, total: samples.length, phase: 'writing artifact' });
    const report = buildReport(results, ds.meta.labels, teachers.map((t) => t.id));
    writeArtifact(ctx.outDir, results, report, secrets);
    const asksMade = results.reduce((n, r) => n + r.replies.filter((x) => !x.fromMemo).length, 0);
    ctx.log.info(`cot: kept ${report.kept}/${report.asked} (${(100 * report.keepRate).toFixed(1)}%), ${report.malformed} malformed, ${asksMade} new asks`);
    return {
      kind: 'cot-dataset',
      metrics: { keepRate: report.keepRate, kept: report.kept, asked: report.asked, malformed: report.malformed, newAsks: asksMade },
      lineage: { teachers: teachers.map((t) => t.identity), promptHash: promptHash(ds.meta.labels), datasetArtifact: input.artifactId },
      summary: { kept: report.kept, asked: report.asked, keepRate: Number(report.keepRate.toFixed(4)) },
    };
  };
}

function writeArtifact(outDir: string, results: readonly SampleResult[], report: object, secrets: Array<string | undefined>): void {
  const clean = (s: string): string => redact(s, secrets);
  const cot = results.filter((r) => r.chosen).map((r) => {
    const c = r.chosen!;
    return JSON.stringify({
      index: r.sample.index, label: r.sample.label, labelId: r.sample.labelId, think: c.think, answer: c.answer,
      completion: completionOf(c), teacher: c.teacher, verified: c.verdict === 'verified', pass: c.pass,
    });
  });
  const replies = results.flatMap((r) => r.replies.map((x) => JSON.stringify({ ...x, label: r.sample.label })));
  writeFileSynced(path.join(outDir, 'cot.jsonl'), clean(cot.map((l) => `${l}\n`).join('')));
  writeFileSynced(path.join(outDir, 'replies.jsonl'), clean(replies.map((l) => `${l}\n`).join('')));
  writeFileSynced(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
}

function writeFileSynced(file: string, text: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export const runCotStage: StageImplementation = createCotStage();
