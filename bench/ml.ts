// Benchmark of the VLM on the chosen backend, for the `tiny` and `small` sizes:
//  - training tokens/s (decoder positions = image tokens + text, per second) and achieved GFLOP/s
//    from the FLOP count of a step (model-config.ts trainFlopsPerStep), on realistic CoT examples;
//  - generation tokens/s for 8 sequences × 64 new tokens with the KV cache and by recomputation.
// Prints a table and writes bench/results/ml.json. Medians of several repeats.
// Targets (2-core CPU): small trains at ≥ 600 tokens/s; KV cache ≥ 20× faster than recompute.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackendChoice, backendInfo } from '../lib/ml/backend';
import { writeSyntheticDataset } from '../lib/ml/data/build-synthetic';
import { openDataset } from '../lib/ml/data/dataset';
import { compactRationale } from '../lib/ml/data/synthetic-rules';
import { VlmModel, modelConfig, countParams, numPatches, trainFlopsPerStep, type ModelSize } from '../lib/ml/model';
import { AdamW, clipByGlobalNorm } from '../lib/ml/optimizer';
import { TASK_PROMPT, cotCompletion, encodeCompletion, encodePrompt } from '../lib/ml/prompt';
import { generate } from '../lib/ml/sampling';
import { Tokenizer } from '../lib/ml/tokenizer';
import { corpusForTokenizer, exampleImages, vocabSizeFor, type SupervisedExample } from '../lib/ml/train-data';
import { maskedNll } from '../lib/ml/train-loop';
import { rngFor } from '../lib/rng';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const BATCH = 16;
const GEN_BATCH = 8;
const NEW_TOKENS = 64;

function timeTrainSteps(model: VlmModel, ds: ReturnType<typeof openDataset>, examples: SupervisedExample[], steps: number): number[] {
  const opt = new AdamW({ weightDecay: 0.01 });
  const times: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const batch = examples.slice((s * BATCH) % (examples.length - BATCH), ((s * BATCH) % (examples.length - BATCH)) + BATCH);
    const t0 = performance.now();
    const images = exampleImages(ds, 'train', batch);
    const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), model.trainableVariables());
    value.dataSync();
    const list = model.trainableVariables().map((v) => grads[v.name]);
    const clipped = clipByGlobalNorm(list, 1);
    opt.apply(model.params, new Map([...model.params.keys()].map((n, i) => [n, clipped.grads[i]])), 1e-3);
    tf.dispose([value, images, ...list, ...clipped.grads]);
    if (s >= 2) times.push(performance.now() - t0); // first two steps warm the kernels up
  }
  opt.dispose();
  return times;
}

function timeGeneration(model: VlmModel, ds: ReturnType<typeof openDataset>, prompt: number[], useCache: boolean, reps: number): number[] {
  const images = tf.tensor4d(ds.batch('train', Array.from({ length: GEN_BATCH }, (_, i) => i)), [GEN_BATCH, 32, 32, 3]);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    // eos -1 never matches: every row produces exactly NEW_TOKENS tokens.
    const g = generate(model, images, Array.from({ length: GEN_BATCH }, () => prompt), { maxNewTokens: NEW_TOKENS, eos: -1, useCache });
    times.push(performance.now() - t0);
    if (g.tokens[0].length !== NEW_TOKENS) throw new Error('generation stopped early');
  }
  images.dispose();
  return times;
}

async function main() {
  await initBackend();
  console.log(describeBackendChoice());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ml-'));
  writeSyntheticDataset(dir, { seed: 1, train: 600, val: 0, test: 0 });
  const ds = openDataset(dir);
  const results: Record<string, unknown>[] = [];
  for (const size of ['tiny', 'small'] as ModelSize[]) {
    const tok = Tokenizer.train(corpusForTokenizer(ds), vocabSizeFor(size));
    const prompt = encodePrompt(tok, TASK_PROMPT);
    const examples = ds.samples('train').map((s) => ({
      image: s.index, prompt,
      completion: encodeCompletion(tok, cotCompletion(compactRationale(s.attributes as Record<string, string | null>), s.label)),
    }));
    const textLen = median(examples.map((e) => e.prompt.length + e.completion.length));
    const model = VlmModel.create(modelConfig(size, tok.vocabSize), rngFor(1, 'bench', size));
    const stepMs = median(timeTrainSteps(model, ds, examples, size === 'tiny' ? 10 : 6));
    // FLOPs at the median text length (batches are padded to their longest; close to the median here).
    const flops = trainFlopsPerStep(model.config, BATCH, textLen);
    const positions = BATCH * (numPatches(model.config) + textLen);
    const kvMs = median(timeGeneration(model, ds, prompt, true, 3));
    const fullMs = median(timeGeneration(model, ds, prompt, false, size === 'tiny' ? 3 : 1));
    const r = {
      size, params: countParams(model.config), vocabSize: tok.vocabSize, batch: BATCH, medianTextTokens: textLen,
      trainStepMs: Math.round(stepMs), trainTokensPerSec: Math.round((positions * 1000) / stepMs),
      trainTextTokensPerSec: Math.round((BATCH * textLen * 1000) / stepMs),
      trainGflops: Number((flops / stepMs / 1e6).toFixed(2)),
      genBatch: GEN_BATCH, genNewTokens: NEW_TOKENS,
      genTokensPerSecKv: Math.round((GEN_BATCH * NEW_TOKENS * 1000) / kvMs),
      genTokensPerSecRecompute: Math.round((GEN_BATCH * NEW_TOKENS * 1000) / fullMs),
      kvSpeedup: Number((fullMs / kvMs).toFixed(1)),
    };
    console.log(JSON.stringify(r));
    results.push(r);
    model.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const out = { backend: backendInfo().name, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))), date: new Date().toISOString(), results };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'ml.json'), `${JSON.stringify(out, null, 2)}\n`);
}

void main();
