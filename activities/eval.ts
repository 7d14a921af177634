// The `eval` stage: every input model (input 'models', named by the stage id that produced it)
// answers the dataset's test (or val) split by greedy decoding with the KV cache; answers are parsed
// from `<answer>` (the label baseline writes `<answer>label</answer>` too, and a bare label is also
// accepted); unparseable answers count as wrong. Writes report.json (CONTRACTS "Report inputs") and
// report.md. Deterministic: greedy decoding, fixed sample order, no randomness.
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
import type { ResolvedInput, StageContext, StageImplementation } from './types';

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
        const label = samples[batch[k]].label;
        out.push({ label, predicted: parseAnswer(text, ds.meta.labels), format: formatReward({ completion: text, label }) });
      });
      progress(start + batch.length);
    }
  } finally {
    model.dispose();
  }
  return out;
}

export const runEvalStage: StageImplementation = async (ctx) => {
  const p = readParams(ctx);
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
  fs.writeFileSync(path.join(ctx.outDir, 'report.json'), JSON.stringify(report, null, 1));
  fs.writeFileSync(path.join(ctx.outDir, 'report.md'), renderEvalMarkdown(report));
  const best = [...report.models].sort((a, b) => b.accuracy - a.accuracy)[0];
  return {
    kind: 'eval-report',
    metrics: flatMetrics(report),
    lineage: { backend: backendLineage(), split: p.split, n },
    summary: { models: report.models.length, n, best: best.name, bestAccuracy: Number(best.accuracy.toFixed(4)) },
  };
};
