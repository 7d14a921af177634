// What `pretrain` and `sft` share around the training loop: reading resolved params, finding
// inputs, writing the model artifact files and building the StageOutput (metrics, lineage with the
// backend choice and, after a resume, whether it was bit-exact; summary). Kept here so the two activity files stay short.
// Exports: num, str, input, trainOptionsFrom, finishModelStage.
import * as fs from 'node:fs';
import type { JsonObject } from '../canonical';
import type { StageContext, StageOutput, ResolvedInput } from '../stage/types';
import { ClgrpoError, ErrorType } from '../errors';
import { backendInfo, backendLineage } from './backend';
import { countParams, type VlmModel } from './model';
import { writeModelFiles } from './model-io';
import { TASK_PROMPT_VERSION } from './prompt';
import type { Tokenizer } from './tokenizer';
import type { TrainOptions, TrainResult } from './train-loop';

export function num(params: JsonObject, key: string, fallback?: number): number {
  const v = params[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ClgrpoError(ErrorType.Config, `stage param ${key} must be a number (got ${JSON.stringify(v)})`);
}

export function str(params: JsonObject, key: string, fallback?: string): string {
  const v = params[key];
  if (typeof v === 'string') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ClgrpoError(ErrorType.Config, `stage param ${key} must be a string (got ${JSON.stringify(v)})`);
}

export function input(ctx: StageContext, name: string): ResolvedInput {
  const i = ctx.inputs.find((x) => x.input === name);
  if (!i) {
    throw new ClgrpoError(ErrorType.Config, `stage ${ctx.stage.id} (${ctx.stage.kind}) has no '${name}' input; inputs: ${ctx.inputs.map((x) => x.input).join(', ') || 'none'}`);
  }
  if (!fs.existsSync(i.dir)) throw new ClgrpoError(ErrorType.Config, `input ${name} of stage ${ctx.stage.id}: ${i.dir} does not exist`);
  return i;
}

/** The loop's options from resolved params (defaults only guard hand-made contexts in tests). */
export function trainOptionsFrom(ctx: StageContext, kind: string, steps: number): TrainOptions {
  const p = ctx.stage.params;
  return {
    kind, steps, seed: ctx.stage.seed,
    batchSize: num(p, 'batchSize', 16), lr: num(p, 'lr'), warmupSteps: num(p, 'warmupSteps', 0),
    weightDecay: num(p, 'weightDecay', 0.01), gradClip: num(p, 'gradClip', 1), checkpointEvery: num(p, 'checkpointEvery', 50),
    keepCheckpoints: num(p, 'keepCheckpoints', 3),
  };
}

/** Writes the artifact files and returns what the wrapper records. */
export function finishModelStage(ctx: StageContext, kind: string, model: VlmModel, tokenizer: Tokenizer, r: TrainResult, extra: JsonObject = {}): StageOutput {
  ctx.heartbeat({ step: r.state.step, total: r.state.total, phase: 'writing artifact' });
  writeModelFiles(ctx.outDir, model, tokenizer, { kind, steps: r.state.step, curves: r.state.curves });
  const metrics: Record<string, number> = { steps: r.state.step, params: countParams(model.config), vocabSize: tokenizer.vocabSize };
  if (Number.isFinite(r.finalLoss)) metrics.finalLoss = r.finalLoss;
  if (r.evalLoss !== undefined && Number.isFinite(r.evalLoss)) metrics.evalLoss = r.evalLoss;
  if (r.tokensPerSec > 0) metrics.tokensPerSec = Math.round(r.tokensPerSec);
  const b = backendInfo();
  return {
    kind: 'model',
    metrics,
    lineage: {
      backend: backendLineage(b),
      modelSize: model.config.size,
      promptVersion: TASK_PROMPT_VERSION,
      resumedFromStep: r.resumedFromStep,
      // Present when this attempt resumed: exact (same backend, TF.js and CPU kind) or not, and both origins.
      ...(r.resume ? { resume: JSON.parse(JSON.stringify(r.resume)) as JsonObject } : {}),
      ...extra,
    },
    summary: { steps: r.state.step, ...(Number.isFinite(r.finalLoss) ? { loss: Number(r.finalLoss.toFixed(4)) } : {}), backend: b.name },
  };
}
