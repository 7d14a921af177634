// Benchmark of the VLM on the chosen backend, for the `tiny` and `small` sizes:
//  - training tokens/s (decoder positions = image tokens + text, per second) and achieved GFLOP/s
//    from the FLOP count of a step (model-config.ts trainFlopsPerStep), on realistic CoT examples;
//  - generation tokens/s for 8 sequences × 64 new tokens with the KV cache and by recomputation.
// Prints a table and writes bench/results/ml.json. Medians of several repeats. Each figure is given
// per wall-clock second and per CPU second of this process (process.cpuUsage): on a machine shared
// with other jobs the wall figure is depressed by contention, the CPU figure much less.
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

interface Timing { wall: number; cpu: number }
function timed(f: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}
const med = (ts: Timing[]): Timing => ({ wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) });
const BATCH = 16;
const GEN_BATCH = 8;
const NEW_TOKENS = 64;

function timeTrainSteps(model: VlmModel, ds: ReturnType<typeof openDataset>, examples: SupervisedExample[], steps: number): Timing[] {
  const opt = new AdamW({ weightDecay: 0.01 });
  const times: Timing[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const batch = examples.slice((s * BATCH) % (examples.length - BATCH), ((s * BATCH) % (examples.length - BATCH)) + BATCH);
    const t = timed(() => {
      const images = exampleImages(ds, 'train', batch);
      const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), model.trainableVariables());
      value.dataSync();
      const list = model.trainableVariables().map((v) => grads[v.name]);
      const clipped = clipByGlobalNorm(list, 1);
      opt.apply(model.params, new Map([...model.params.keys()].map((n, i) => [n, clipped.grads[i]])), 1e-3);
      tf.dispose([value, images, ...list, ...clipped.grads]);
    });
    if (s >= 2) times.push(t); // the first two steps warm the kernels up
  }
  opt.dispose();
  return times;
}

function timeGeneration(model: VlmModel, ds: ReturnType<typeof openDataset>, prompt: number[], useCache: boolean, reps: number): Timing[] {
  const images = tf.tensor4d(ds.batch('train', Array.from({ length: GEN_BATCH }, (_, i) => i)), [GEN_BATCH, 32, 32, 3]);
  const times: Timing[] = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    // eos -1 never matches: every row produces exactly NEW_TOKENS tokens.
    times.push(timed(() => { n = generate(model, images, Array.from({ length: GEN_BATCH }, () => prompt), { maxNewTokens: NEW_TOKENS, eos: -1, useCache }).tokens[0].length; }));
    if (n !== NEW_TOKENS) throw new Error('generation stopped early');
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
  const sizes = (process.argv[2] ?? 'tiny,small').split(',') as ModelSize[];
  for (const size of sizes) {
    const tok = Tokenizer.train(corpusForTokenizer(ds), vocabSizeFor(size));
    const prompt = encodePrompt(tok, TASK_PROMPT);
    const examples = ds.samples('train').map((s) => ({
      image: s.index, prompt,
      completion: encodeCompletion(tok, cotCompletion(compactRationale(s.attributes as Record<string, string | null>), s.label)),
    }));
    const textLen = median(examples.map((e) => e.prompt.length + e.completion.length));
    const model = VlmModel.create(modelConfig(size, tok.vocabSize), rngFor(1, 'bench', size));
    const step = med(timeTrainSteps(model, ds, examples, size === 'tiny' ? 10 : 6));
    // FLOPs at the median text length (batches are padded to their longest; close to the median here).
    const flops = trainFlopsPerStep(model.config, BATCH, textLen);
    const positions = BATCH * (numPatches(model.config) + textLen);
    const kv = med(timeGeneration(model, ds, prompt, true, 3));
    const full = med(timeGeneration(model, ds, prompt, false, size === 'tiny' ? 3 : 1));
    const genTokens = GEN_BATCH * NEW_TOKENS;
    const perSec = (n: number, ms: number) => Math.round((n * 1000) / ms);
    const r = {
      size, params: countParams(model.config), vocabSize: tok.vocabSize, batch: BATCH, medianTextTokens: textLen,
      trainStepMs: Math.round(step.wall), trainStepCpuMs: Math.round(step.cpu),
      trainTokensPerSec: perSec(positions, step.wall), trainTokensPerCpuSec: perSec(positions, step.cpu),
      trainTextTokensPerSec: perSec(BATCH * textLen, step.wall),
      trainGflops: Number((flops / step.wall / 1e6).toFixed(2)), trainGflopsPerCpuSec: Number((flops / step.cpu / 1e6).toFixed(2)),
      genBatch: GEN_BATCH, genNewTokens: NEW_TOKENS,
      genTokensPerSecKv: perSec(genTokens, kv.wall), genTokensPerCpuSecKv: perSec(genTokens, kv.cpu),
      genTokensPerSecRecompute: perSec(genTokens, full.wall), genTokensPerCpuSecRecompute: perSec(genTokens, full.cpu),
      kvSpeedup: Number((full.wall / kv.wall).toFixed(1)), kvSpeedupCpu: Number((full.cpu / kv.cpu).toFixed(1)),
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
