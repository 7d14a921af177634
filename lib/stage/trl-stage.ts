// The `trainer: trl` path of the sft, grpo and eval activities: checks the inputs, runs the Python
// trainer (trainer-process.ts) with the stage's outDir and workDir, checks what it wrote, and builds
// the StageOutput — metrics, `training.json` curves (from the progress lines when the trainer wrote
// none) and the lineage: trainer, versions (python, torch, transformers, trl, accelerate), device,
// dtype and the resolved TRL config the trainer reports. The activity publishes outDir as usual.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JsonObject } from '../canonical';
import { ClgrpoError, ErrorType } from '../errors';
import { missingHfFiles } from './hf-model';
import { runTrainerProcess, type TrainerJob, type TrainerProcessOptions, type TrainerResult } from './trainer-process';
import type { ResolvedInput, StageContext, StageOutput } from './types';

/** The one input of this name, which must be of `kind` (the compiler guarantees it; a stale plan may not). */
export function inputOf(ctx: StageContext, name: string, kinds: readonly string[]): ResolvedInput {
  const i = ctx.inputs.find((x) => x.input === name);
  if (!i) {
    throw new ClgrpoError(ErrorType.Config, `stage '${ctx.stage.id}' needs input '${name}'; got ${ctx.inputs.map((x) => x.input).join(', ') || 'none'}`);
  }
  if (!kinds.includes(i.kind)) {
    throw new ClgrpoError(ErrorType.Config, `stage '${ctx.stage.id}' (trainer ${String(ctx.stage.params.trainer ?? 'tfjs')}) got ${i.kind} artifact ${i.artifactId} from '${i.from}' for input '${name}'; it reads ${kinds.join(' or ')}: recompile the plan`);
  }
  return i;
}

const DEVICES = new Set(['auto', 'cpu', 'cuda']);

/** The worker's device choice (CLGRPO_TRL_DEVICE, default auto: CUDA when present). Not keyed: lineage records it. */
function deviceOf(ctx: StageContext): TrainerJob['device'] {
  const d = ctx.env.CLGRPO_TRL_DEVICE ?? 'auto';
  if (!DEVICES.has(d)) throw new ClgrpoError(ErrorType.Config, `CLGRPO_TRL_DEVICE is ${JSON.stringify(d)}; use auto, cpu or cuda`);
  return d as TrainerJob['device'];
}

export type TrlRunner = (ctx: StageContext, job: TrainerJob, opts: TrainerProcessOptions) => Promise<TrainerResult>;

/** Runs the trainer for this stage (the runner is injectable for tests; default: the real subprocess). */
export async function runTrl(ctx: StageContext, job: Omit<TrainerJob, 'params' | 'device' | 'dtype'>, opts: TrainerProcessOptions, runner: TrlRunner = runTrainerProcess): Promise<TrainerResult> {
  const params = ctx.stage.params;
  const dtype = (params.dtype ?? 'auto') as TrainerJob['dtype'];
  if (ctx.previousProgress) {
    ctx.log.info(`previous attempt reported step ${ctx.previousProgress.step}/${ctx.previousProgress.total}; the trainer resumes from the newest complete checkpoint in ${ctx.workDir}`);
  }
  return runner(ctx, { ...job, params, device: deviceOf(ctx), dtype }, opts);
}

/** What every trl stage records: the trainer, its versions, device, dtype and the TRL config it resolved. */
export function trlLineage(r: TrainerResult, extra: JsonObject = {}): JsonObject {
  return {
    trainer: 'trl',
    versions: r.hello?.versions ?? {},
    device: r.hello?.device ?? 'unknown',
    dtype: r.hello?.dtype ?? 'unknown',
    ...r.lineage,
    ...(r.warnings.length ? { warnings: r.warnings.map((w) => ({ code: w.code, message: w.message })) } : {}),
    ...extra,
  } as JsonObject;
}

/** Metrics of a trl training stage: the result's, plus the zero-advantage fraction of the last step when reported. */
function trainingMetrics(r: TrainerResult): Record<string, number> {
  const z = r.curves.zeroAdvantageFrac;
  return { ...r.metrics, ...(z?.length && r.metrics.zeroAdvantageFrac === undefined ? { zeroAdvantageFrac: z[z.length - 1][1] } : {}) };
}

/**
 * After a trl sft/grpo: the published artifact is the HF model dir the trainer wrote to outDir
 * (checked here: a trainer that wrote no weights must not publish), plus training.json.
 */
export function finishTrlTraining(ctx: StageContext, kind: 'sft' | 'grpo', r: TrainerResult, base: ResolvedInput, extra: JsonObject = {}): StageOutput {
  const missing = missingHfFiles(ctx.outDir);
  if (missing.length) {
    throw new ClgrpoError(ErrorType.TrainerCrashed, `trainer of stage '${ctx.stage.id}' reported a result but its output dir ${ctx.outDir} lacks ${missing.join(', ')}; nothing was published`);
  }
  const training = path.join(ctx.outDir, 'training.json');
  const steps = Math.max(0, ...Object.values(r.curves).flatMap((c) => c.map(([s]) => s)));
  if (!fs.existsSync(training)) fs.writeFileSync(training, JSON.stringify({ kind, steps, curves: r.curves }));
  const metrics = trainingMetrics(r);
  return {
    kind: 'hf-model',
    metrics,
    lineage: trlLineage(r, { base: base.artifactId, ...extra }),
    summary: r.summary ?? { steps, ...(metrics.loss !== undefined ? { loss: Number(metrics.loss.toFixed(4)) } : {}) },
  };
}
