// The `eval` stage: every input model (input 'models', named by the stage id that produced it)
// answers the dataset's test (or val) split by greedy decoding with the KV cache; answers are parsed
// from `<answer>` (the label baseline writes `<answer>label</answer>` too, and a bare label is also
// accepted); unparseable answers count as wrong. Writes report.json (CONTRACTS "Report inputs") and
// report.md. Deterministic: greedy decoding, fixed sample order, no randomness.
// `trainer: trl` evaluates Hugging Face models (hf-model inputs): the Python trainer writes each
// model's greedy completions to predictions.jsonl (`{model, index, completion}` per line, kept in
// the artifact) and this file parses them with the same parser and scores them with the same
// metrics code as TF.js completions, so one report format compares both kinds of model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { crashPoint } from '../lib/faults/crash-points';
import { backendLineage, initBackend } from '../lib/ml/backend';
import { openDataset, type Dataset } from '../lib/ml/data/dataset';
import { completionTokensForText } from '../lib/ml/grpo/batch';
import { imagesFor } from '../lib/ml/grpo/rollout';
import { classificationMetrics, flatMetrics, modelReport, renderEvalMarkdown, type EvalReport, type Prediction } from '../lib/ml/metrics';
import { loadModelDir } from '../lib/ml/model-io';
import { TASK_PROMPT, encodePrompt } from '../lib/ml/prompt';
import { formatReward, parseAnswer } from '../lib/ml/rewards';
import { generate } from '../lib/ml/sampling';
import { trainerOf } from '../lib/spec/kinds';
import { inputOf, runTrl, trlLineage } from '../lib/stage/trl-stage';
import { redactSecrets } from './failures';
import type { ResolvedInput, StageContext, StageImplementation, StageOutput } from './types';

export interface EvalParams {
  split: 'test' | 'val';
  limit?: number;
  maxNewTokens: number;
  batchSize: number;
}

function readParams(ctx: StageContext): EvalParams {
  const p = ctx.stage.params as unknown as EvalParams;
  const problems: string[] = [];
  if (p.split !== 'test' && p.split !== 'val') problems.push(`split must be test or val (got ${String(p.split)})`);
  if (!(Number.isInteger(p.maxNewTokens) && p.maxNewTokens > 0)) problems.push(`maxNewTokens must be a positive integer (got ${p.maxNewTokens})`);
  if (!(Number.isInteger(p.batchSize) && p.batchSize > 0)) problems.push(`batchSize must be a positive integer (got ${p.batchSize})`);
  if (p.limit !== undefined && p.limit !== null && !(Number.isInteger(p.limit) && p.limit > 0)) problems.push(`limit must be a positive integer (got ${p.limit})`);
  if (problems.length) throw new ClgrpoError(ErrorType.Config, `eval stage '${ctx.stage.id}': ${problems.join('; ')}`);
  return p;
}

function inputsOf(ctx: StageContext): { models: ResolvedInput[]; dataset: ResolvedInput } {
  const models = ctx.inputs.filter((i) => i.input === 'models');
  const dataset = ctx.inputs.find((i) => i.input === 'dataset');
  if (!models.length || !dataset) {
    throw new ClgrpoError(ErrorType.Config,
      `eval stage '${ctx.stage.id}' needs input 'models' (at least one) and 'dataset'; got ${ctx.inputs.map((i) => i.input).join(', ') || 'none'}`);
  }
  return { models, dataset };
}

/** One completion scored: the answer as parsed from `<answer>` (or a bare label), and the format. Both trainers use it. */
export function predictionOf(text: string, label: string, labels: readonly string[]): Prediction {
  return { label, predicted: parseAnswer(text, labels), format: formatReward({ completion: text, label }) };
}

/** Greedy answers of one model on `indices` of a split, in batches; calls `progress` after each batch. */
export function predict(
  modelDir: string, ds: Dataset, split: 'test' | 'val', indices: readonly number[], p: EvalParams,
  progress: (done: number) => void, signal?: AbortSignal,
): Prediction[] {
  const { model, tokenizer } = loadModelDir(modelDir);
  const samples = ds.samples(split);
  const prompt = encodePrompt(tokenizer, TASK_PROMPT);
  const out: Prediction[] = [];
  try {
    for (let start = 0; start < indices.length; start += p.batchSize) {
      if (signal?.aborted) throw new ClgrpoError(ErrorType.Cancelled, `eval cancelled after ${start} of ${indices.length} samples`);
      const batch = indices.slice(start, start + p.batchSize);
      const images = imagesFor(ds, split, batch);
      let gen;
      try {
        gen = generate(model, images, batch.map(() => prompt), { maxNewTokens: p.maxNewTokens, eos: tokenizer.eos, temperature: 0 });
      } finally {
        images.dispose();
      }
      gen.tokens.forEach((toks, k) => {
        const text = tokenizer.decode(completionTokensForText(toks, tokenizer.eos));
        out.push(predictionOf(text, samples[batch[k]].label, ds.meta.labels));
      });
      progress(start + batch.length);
    }
  } finally {
    model.dispose();
  }
  return out;
}

interface PredictionLine { model: string; index: number; completion: string }

/** predictions.jsonl → each model's predictions for indices 0..n-1, checked complete (a gap would skew every metric). */
export function readTrlPredictions(file: string, models: readonly ResolvedInput[], ds: Dataset, split: 'test' | 'val', n: number): Map<string, Prediction[]> {
  if (!fs.existsSync(file)) throw new ClgrpoError(ErrorType.TrainerCrashed, `the trl eval trainer reported a result but wrote no ${file}`);
  const samples = ds.samples(split);
  const texts = new Map(models.map((m) => [m.from, new Array<string | undefined>(n)]));
  fs.readFileSync(file, 'utf8').split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    const x = JSON.parse(l) as PredictionLine;
    const slot = texts.get(x.model);
    if (!slot || !Number.isInteger(x.index) || x.index < 0 || x.index >= n || typeof x.completion !== 'string') {
      throw new ClgrpoError(ErrorType.TrainerProtocol, `${file} line ${i + 1}: needs model (one of ${[...texts.keys()].join(', ')}), index in [0, ${n}) and a completion string`);
    }
    slot[x.index] = x.completion;
  });
  const out = new Map<string, Prediction[]>();
  for (const [model, slot] of texts) {
    const gap = slot.findIndex((t) => t === undefined);
    if (gap >= 0) throw new ClgrpoError(ErrorType.TrainerProtocol, `${file}: model '${model}' has no completion for sample ${gap} of ${n}`);
    out.set(model, slot.map((t, i) => predictionOf(t as string, samples[i].label, ds.meta.labels)));
  }
  return out;
}

/** trainer trl: one subprocess generates for every model; parsing and metrics stay here. */
async function runTrlEval(ctx: StageContext, p: EvalParams): Promise<StageOutput> {
  const models = ctx.inputs.filter((i) => i.input === 'models').map((i) => inputOf({ ...ctx, inputs: [i] }, 'models', ['hf-model']));
  const dataset = inputOf(ctx, 'dataset', ['dataset']);
  if (!models.length) throw new ClgrpoError(ErrorType.Config, `eval stage '${ctx.stage.id}' needs at least one model`);
  const ds = openDataset(dataset.dir);
  const n = Math.min(ds.meta.splits[p.split], p.limit ?? Infinity);
  if (n === 0) throw new ClgrpoError(ErrorType.Config, `eval stage '${ctx.stage.id}': the dataset's ${p.split} split is empty`);
  const r = await runTrl(ctx, { command: 'eval', model: models[0].dir, inputs: { dataset: dataset.dir, models: models.map((m) => ({ id: m.from, dir: m.dir })) } },
    { redact: (t) => redactSecrets(t, ctx.env) });
  const preds = readTrlPredictions(path.join(ctx.outDir, 'predictions.jsonl'), models, ds, p.split, n);
  const report: EvalReport = { split: p.split, labels: [...ds.meta.labels], models: [] };
  for (const m of models) {
    const metrics = classificationMetrics(preds.get(m.from) as Prediction[], ds.meta.labels);
    report.models.push(modelReport(m.from, m.artifactId, metrics));
    ctx.log.info(`eval ${m.from} (trl): accuracy ${metrics.accuracy.toFixed(3)}, macro recall ${metrics.macroRecall.toFixed(3)}, format ${metrics.formatRate.toFixed(3)} on ${n} ${p.split} samples`);
  }
  return writeReport(ctx, report, trlLineage(r, { split: p.split, n }), n);
}

function writeReport(ctx: StageContext, report: EvalReport, lineage: StageOutput['lineage'], n: number): StageOutput {
  fs.writeFileSync(path.join(ctx.outDir, 'report.json'), JSON.stringify(report, null, 1));
  fs.writeFileSync(path.join(ctx.outDir, 'report.md'), renderEvalMarkdown(report));
  const best = [...report.models].sort((a, b) => b.accuracy - a.accuracy)[0];
  return {
    kind: 'eval-report',
    metrics: flatMetrics(report),
    lineage,
    summary: { models: report.models.length, n, best: best.name, bestAccuracy: Number(best.accuracy.toFixed(4)) },
  };
}

export const runEvalStage: StageImplementation = async (ctx) => {
  const p = readParams(ctx);
  if (trainerOf(ctx.stage.params) === 'trl') return runTrlEval(ctx, p);
  const { models, dataset } = inputsOf(ctx);
  await initBackend({ env: ctx.env });
  const ds = openDataset(dataset.dir);
  const n = Math.min(ds.meta.splits[p.split], p.limit ?? Infinity);
  if (n === 0) throw new ClgrpoError(ErrorType.Config, `eval stage '${ctx.stage.id}': the dataset's ${p.split} split is empty`);
  const indices = Array.from({ length: n }, (_, i) => i);
  const report: EvalReport = { split: p.split, labels: [...ds.meta.labels], models: [] };
  const total = n * models.length;
  for (const [m, input] of models.entries()) {
    const t0 = performance.now();
    const preds = predict(input.dir, ds, p.split, indices, p, (done) => ctx.heartbeat({
      step: m * n + done, total, phase: `evaluating ${input.from}`,
    }), ctx.signal);
    const metrics = classificationMetrics(preds, ds.meta.labels);
    report.models.push(modelReport(input.from, input.artifactId, metrics));
    ctx.log.info(`eval ${input.from}: accuracy ${metrics.accuracy.toFixed(3)}, macro recall ${metrics.macroRecall.toFixed(3)}, `
      + `format ${metrics.formatRate.toFixed(3)} on ${n} ${p.split} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    ctx.heartbeat({ step: (m + 1) * n, total, phase: `evaluated ${input.from}` });
    crashPoint('eval.mid-model');
  }
  return writeReport(ctx, report, { backend: backendLineage(), split: p.split, n }, n);
};
