// The `pretrain` stage: caption pretraining of the small VLM from scratch on the dataset's images
// (the sample's `caption` as the target after CAPTION_PROMPT), standing in for the method's
// pretrained model. The BPE tokenizer is learned here from the dataset's text and travels in the
// model's config.json. With `init: <dir>` (a model artifact or a checkpoint dir holding config.json
// and model.safetensors) the weights are imported instead and nothing trains; like every user path,
// `init` is relative to the data root (CLGRPO_DATA_ROOT, else a `dataRoot` param, else the worker's
// working directory) and may not leave it (FAULTS 9).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StageContext, StageImplementation, StageOutput } from './types';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { rngFor } from '../lib/rng';
import { initBackend, backendInfo } from '../lib/ml/backend';
import { openDataset, type Dataset } from '../lib/ml/data/dataset';
import { realRoot, resolveInRoot } from '../lib/ml/data/paths';
import { VlmModel, modelConfig, MODEL_SIZES, type ModelSize } from '../lib/ml/model';
import { loadModelDir } from '../lib/ml/model-io';
import { CAPTION_PROMPT, encodeCompletion, encodePrompt } from '../lib/ml/prompt';
import { Tokenizer } from '../lib/ml/tokenizer';
import { corpusForTokenizer, vocabSizeFor, type SupervisedExample } from '../lib/ml/train-data';
import { trainSupervised } from '../lib/ml/train-loop';
import { finishModelStage, input, num, str, trainOptionsFrom } from '../lib/ml/train-stage';

function captionExamples(ds: Dataset, tok: Tokenizer, split: 'train' | 'val', limit = Infinity): SupervisedExample[] {
  const prompt = encodePrompt(tok, CAPTION_PROMPT);
  return ds.samples(split).slice(0, limit).map((s) => ({ image: s.index, prompt, completion: encodeCompletion(tok, s.caption) }));
}

async function importInit(ctx: StageContext, init: string): Promise<StageOutput> {
  const p = ctx.stage.params;
  const root = realRoot(ctx.env.CLGRPO_DATA_ROOT ?? (typeof p.dataRoot === 'string' ? p.dataRoot : process.cwd()));
  const dir = resolveInRoot(root, init, 'pretrain init');
  for (const f of ['config.json', 'model.safetensors']) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new ClgrpoError(ErrorType.Config, `pretrain init: ${dir} has no ${f}; point init at a model artifact or a checkpoint dir`);
    }
    resolveInRoot(root, f, 'pretrain init file', dir);
  }
  let loaded;
  try {
    loaded = loadModelDir(dir);
  } catch (e) {
    throw new ClgrpoError(ErrorType.Config, `pretrain init: ${dir} is not a loadable model (${(e as Error).message})`, { cause: e });
  }
  const { model, tokenizer } = loaded;
  try {
    return finishModelStage(ctx, 'pretrain', model, tokenizer,
      { state: { step: 0, total: 0, cursor: { epoch: 0, batch: 0 }, rng: { seed: ctx.stage.seed, scope: [] }, curves: {} }, finalLoss: NaN, tokensPerSec: 0, resumedFromStep: 0 },
      { importedFrom: dir });
  } finally {
    model.dispose();
  }
}

export const runPretrainStage: StageImplementation = async (ctx) => {
  await initBackend({ env: ctx.env });
  ctx.log.info(`pretrain on ${backendInfo().name}`);
  const p = ctx.stage.params;
  if (typeof p.init === 'string') return importInit(ctx, p.init);
  const size = str(p, 'model', 'small') as ModelSize;
  if (!MODEL_SIZES.includes(size)) throw new ClgrpoError(ErrorType.Config, `pretrain model ${size} is not one of ${MODEL_SIZES.join(', ')}`);
  const ds = openDataset(input(ctx, 'dataset').dir);
  // Deterministic in the dataset: a resumed attempt learns the same merges.
  const tokenizer = Tokenizer.train(corpusForTokenizer(ds), vocabSizeFor(size));
  const model = VlmModel.create(modelConfig(size, tokenizer.vocabSize, ds.meta.imageSize), rngFor(ctx.stage.seed, 'pretrain', 'init'));
  try {
    const examples = captionExamples(ds, tokenizer, 'train');
    const evalExamples = captionExamples(ds, tokenizer, 'val', 64);
    const r = await trainSupervised(ctx, model, tokenizer, ds, examples, trainOptionsFrom(ctx, 'pretrain', num(p, 'steps')), evalExamples);
    return finishModelStage(ctx, 'pretrain', model, tokenizer, r, { target: 'caption', trainExamples: examples.length });
  } finally {
    model.dispose();
  }
};
