// The `sft` stage: supervised fine-tuning of a model artifact, loss masked to the completion.
//  - target `cot` (stage 1 of the method): `data` is a cot-dataset; each line of cot.jsonl gives the
//    completion `<think>…</think><answer>…</answer>` for train image `index` of the dataset that the
//    cot artifact's manifest names as its `dataset` input (found as a sibling artifact dir).
//  - target `label` (the baseline): `data` is a dataset; the completion is `<answer>label</answer>`.
// Both use TASK_PROMPT and the same step budget (`steps`, or `epochs` over the examples), so the
// comparison is fair. The tokenizer comes from the input model's config.json. Lineage records the
// target and its first training completion as text (`targetExample`), besides the backend choice.
// `trainer: trl` trains a Hugging Face model (an hf-model input) with TRL's SFTTrainer in the Python
// trainer (lib/stage/trl-stage.ts); same target, same data, the published artifact is the HF dir.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedInput, StageContext, StageImplementation } from './types';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { initBackend, backendInfo } from '../lib/ml/backend';
import { openDataset, type Dataset } from '../lib/ml/data/dataset';
import { loadModelDir } from '../lib/ml/model-io';
import { TASK_PROMPT, encodeCompletion, encodePrompt, labelCompletion } from '../lib/ml/prompt';
import type { Tokenizer } from '../lib/ml/tokenizer';
import { batchSchedule, type SupervisedExample } from '../lib/ml/train-data';
import { trainSupervised } from '../lib/ml/train-loop';
import { finishModelStage, input, num, str, trainOptionsFrom } from '../lib/ml/train-stage';
import { trainerOf } from '../lib/spec/kinds';
import { finishTrlTraining, inputOf, runTrl } from '../lib/stage/trl-stage';
import { redactSecrets } from './failures';

interface CotLine { index: number; label: string; completion: string }

/** The dataset a cot-dataset artifact was built from: its manifest's `dataset` input, a sibling dir. */
export function datasetDirOfCot(data: ResolvedInput): string {
  const inputs = (data.manifest.inputs ?? []) as Array<{ input?: string; artifactId?: string }>;
  const ref = inputs.find((i) => i.input === 'dataset') ?? inputs[0];
  if (!ref?.artifactId) {
    throw new ClgrpoError(ErrorType.Config, `cot-dataset ${data.artifactId} names no dataset input in its manifest; rebuild the cot stage`);
  }
  const dir = path.join(path.dirname(data.dir), ref.artifactId);
  if (!fs.existsSync(path.join(dir, 'meta.json'))) {
    throw new ClgrpoError(ErrorType.Config, `dataset ${ref.artifactId} of cot-dataset ${data.artifactId} is not in the store (${dir})`);
  }
  return dir;
}

function readCot(dir: string): CotLine[] {
  const file = path.join(dir, 'cot.jsonl');
  if (!fs.existsSync(file)) throw new ClgrpoError(ErrorType.Config, `${dir} is not a cot-dataset (no cot.jsonl)`);
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    const x = JSON.parse(l) as CotLine;
    if (!Number.isInteger(x.index) || typeof x.completion !== 'string') {
      throw new ClgrpoError(ErrorType.ArtifactCorrupt, `${file} line ${i + 1}: needs an integer index and a completion string`);
    }
    return x;
  });
}

function buildExamples(ctx: StageContext, target: string, tok: Tokenizer): { ds: Dataset; examples: SupervisedExample[]; evalExamples: SupervisedExample[] } {
  const data = input(ctx, 'data');
  const prompt = encodePrompt(tok, TASK_PROMPT);
  if (target === 'cot') {
    const ds = openDataset(datasetDirOfCot(data));
    const n = ds.meta.splits.train;
    const lines = readCot(data.dir);
    for (const l of lines) if (l.index < 0 || l.index >= n) throw new ClgrpoError(ErrorType.ArtifactCorrupt, `cot.jsonl index ${l.index} is outside the train split (${n})`);
    return { ds, examples: lines.map((l) => ({ image: l.index, prompt, completion: encodeCompletion(tok, l.completion) })), evalExamples: [] };
  }
  if (target === 'label') {
    const ds = openDataset(data.dir);
    const make = (split: 'train' | 'val', limit = Infinity) => ds.samples(split).slice(0, limit)
      .map((s) => ({ image: s.index, prompt, completion: encodeCompletion(tok, labelCompletion(s.label)) }));
    return { ds, examples: make('train'), evalExamples: make('val', 64) };
  }
  throw new ClgrpoError(ErrorType.Config, `sft target must be cot or label (got ${target})`);
}

/** trainer trl: the Python trainer gets the HF model dir, the cot lines and their dataset (or the dataset for labels). */
async function runTrlSft(ctx: StageContext) {
  const model = inputOf(ctx, 'model', ['hf-model']);
  const data = inputOf(ctx, 'data', ['cot-dataset', 'dataset']);
  const target = str(ctx.stage.params, 'target', data.kind === 'cot-dataset' ? 'cot' : 'label');
  const inputs = data.kind === 'cot-dataset' ? { cot: data.dir, dataset: datasetDirOfCot(data) } : { dataset: data.dir };
  const r = await runTrl(ctx, { command: 'sft', model: model.dir, inputs }, { redact: (t) => redactSecrets(t, ctx.env) });
  return finishTrlTraining(ctx, 'sft', r, model, { target });
}

export const runSftStage: StageImplementation = async (ctx) => {
  if (trainerOf(ctx.stage.params) === 'trl') return runTrlSft(ctx);
  await initBackend({ env: ctx.env });
  const p = ctx.stage.params;
  const data = input(ctx, 'data');
  const target = str(p, 'target', data.kind === 'cot-dataset' ? 'cot' : 'label');
  const { model, tokenizer } = loadModelDir(input(ctx, 'model').dir);
  try {
    const { ds, examples, evalExamples } = buildExamples(ctx, target, tokenizer);
    if (!examples.length) throw new ClgrpoError(ErrorType.Config, `sft: the ${target} data of ${data.artifactId} has no examples`);
    const perEpoch = batchSchedule(examples.length, num(p, 'batchSize', 16), ctx.stage.seed, 'sft').batchesPerEpoch;
    const steps = typeof p.steps === 'number' ? p.steps : num(p, 'epochs', 2) * perEpoch;
    ctx.log.info(`sft target ${target}: ${examples.length} examples, ${steps} steps on ${backendInfo().name}`);
    const r = await trainSupervised(ctx, model, tokenizer, ds, examples, trainOptionsFrom(ctx, 'sft', steps), evalExamples);
    // The first training completion as text (end of text left off): what the model learns to write.
    const targetExample = { image: examples[0].image, completion: tokenizer.decode(examples[0].completion.slice(0, -1)) };
    return finishModelStage(ctx, 'sft', model, tokenizer, r, { target, trainExamples: examples.length, targetExample });
  } finally {
    model.dispose();
  }
};
