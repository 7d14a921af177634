// Kernel profile of the VLM on the chosen backend: for each size, one training step (batch 16 of
// CoT-length examples: forward, backward, global-norm clip, AdamW — what train-loop.ts runs) and one
// generation (8 sequences × N new tokens, greedy, KV cache). For each it records the number of TF.js
// kernels, their summed time by kernel name and by coarse category (tf.profile; on wasm a kernel's
// time is the wall time of its synchronous call), the profiled wall time, and the median wall and CPU
// and minimum wall and CPU time of a few unprofiled runs (profiling itself adds per-kernel overhead).
// Every TF.js op costs a roughly fixed ~30 µs at this project's sizes, so the kernel count matters
// as much as the FLOPs: this script is the before/after yardstick for kernel-count work.
// Usage: TFJS_BACKEND=wasm node --import tsx bench/profile-step.ts <label> [tiny,small] [newTokens=64]
//        → bench/results/profile-<label>.json (TFJS_BACKEND picks the backend as everywhere else;
//        force it when comparing runs, or the first native backend that loads wins).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackendChoice, backendInfo } from '../lib/ml/backend';
import { writeSyntheticDataset } from '../lib/ml/data/build-synthetic';
import { openDataset, type Dataset } from '../lib/ml/data/dataset';
import { compactRationale } from '../lib/ml/data/synthetic-rules';
import { VlmModel, modelConfig, countParams, type ModelSize } from '../lib/ml/model';
import { AdamW, clipByGlobalNorm } from '../lib/ml/optimizer';
import { TASK_PROMPT, cotCompletion, encodeCompletion, encodePrompt } from '../lib/ml/prompt';
import { generate } from '../lib/ml/sampling';
import { Tokenizer } from '../lib/ml/tokenizer';
import { corpusForTokenizer, exampleImages, vocabSizeFor, type SupervisedExample } from '../lib/ml/train-data';
import { maskedNll } from '../lib/ml/train-loop';
import { rngFor } from '../lib/rng';

const BATCH = 16;
const GEN_BATCH = 8;
const TIMED_RUNS = 7;

interface KernelRecord { name: string; kernelTimeMs: number; inputShapes: Array<number[] | null> }
interface Bucket { count: number; ms: number }

/** Coarse buckets matching the breakdown of where a step's time goes. */
function category(k: KernelRecord): string {
  if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
    const rank = k.inputShapes[0]?.length ?? 2;
    return rank <= 2 ? 'matmul-2d' : 'attention-matmul';
  }
  if (k.name === 'Softmax') return 'attention-softmax';
  if (['Identity', 'Reshape', 'SplitV', 'Slice', 'Concat', 'Transpose', 'Pack', 'Unpack', 'Cast', 'Tile', 'Fill', 'StridedSlice'].includes(k.name)) return 'copies-reshapes';
  if (['GatherV2', 'UnsortedSegmentSum', 'OneHot'].includes(k.name)) return 'gathers';
  return 'elementwise-reductions';
}

function add(map: Map<string, Bucket>, key: string, ms: number): void {
  const b = map.get(key) ?? { count: 0, ms: 0 };
  b.count += 1;
  b.ms += ms;
  map.set(key, b);
}

const round = (x: number, d = 2) => Number(x.toFixed(d));
const table = (m: Map<string, Bucket>) => Object.fromEntries([...m].sort((a, b) => b[1].ms - a[1].ms)
  .map(([k, v]) => [k, { count: v.count, ms: round(v.ms) }]));

async function profileOnce(run: () => void) {
  const t0 = performance.now();
  const prof = await tf.profile(() => { run(); return undefined as never; });
  const wallMs = performance.now() - t0;
  const byKernel = new Map<string, Bucket>();
  const byCategory = new Map<string, Bucket>();
  let kernelMs = 0;
  // Ops built with customGrad (logSoftmax) are recorded as 'name__op' around their own kernels,
  // which are recorded too: count and time only the kernels.
  const kernels = (prof.kernels as unknown as KernelRecord[]).filter((k) => !k.name.endsWith('__op'));
  for (const k of kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    kernelMs += ms;
    add(byKernel, k.name, ms);
    add(byCategory, category(k), ms);
  }
  return {
    kernels: kernels.length, kernelMs: round(kernelMs), profiledWallMs: round(wallMs),
    outsideKernelsMs: round(wallMs - kernelMs), byCategory: table(byCategory), byKernel: table(byKernel),
  };
}

function timeRuns(run: () => void, n: number) {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    const c = process.cpuUsage(c0);
    walls.push(performance.now() - t0);
    cpus.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // On a shared machine the minimum is the least disturbed run; the median shows the spread.
  return {
    medianWallMs: round(med(walls), 1), medianCpuMs: round(med(cpus), 1),
    minWallMs: round(Math.min(...walls), 1), minCpuMs: round(Math.min(...cpus), 1), runs: n,
  };
}

/** One training step as train-loop.ts runs it (same batch every time: equal shapes). */
function trainStepRunner(model: VlmModel, ds: Dataset, batch: SupervisedExample[]): { run: () => void; dispose: () => void } {
  const opt = new AdamW({ weightDecay: 0.01 });
  const run = () => {
    const images = exampleImages(ds, 'train', batch);
    const vars = model.trainableVariables();
    const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), vars);
    value.dataSync();
    const list = vars.map((v) => grads[v.name]);
    const clipped = clipByGlobalNorm(list, 1);
    tf.dispose(list);
    opt.apply(model.params, new Map([...model.params.keys()].map((n, i) => [n, clipped.grads[i]])), 1e-3);
    tf.dispose([value, images, ...clipped.grads]);
  };
  return { run, dispose: () => opt.dispose() };
}

async function profileSize(size: ModelSize, ds: Dataset, newTokens: number) {
  const tok = Tokenizer.train(corpusForTokenizer(ds), vocabSizeFor(size));
  const prompt = encodePrompt(tok, TASK_PROMPT);
  const examples = ds.samples('train').slice(0, BATCH).map((s) => ({
    image: s.index, prompt,
    completion: encodeCompletion(tok, cotCompletion(compactRationale(s.attributes as Record<string, string | null>), s.label)),
  }));
  const model = VlmModel.create(modelConfig(size, tok.vocabSize), rngFor(1, 'profile', size));
  const textLen = Math.max(...examples.map((e) => e.prompt.length + e.completion.length));

  const train = trainStepRunner(model, ds, examples);
  for (let i = 0; i < 2; i++) train.run(); // warm: kernel setup, packed weights, constant tables
  const trainProfile = await profileOnce(train.run);
  const trainTimes = timeRuns(train.run, TIMED_RUNS);
  train.dispose();

  const images = tf.tensor4d(ds.batch('train', Array.from({ length: GEN_BATCH }, (_, i) => i)), [GEN_BATCH, 32, 32, 3]);
  const prompts = Array.from({ length: GEN_BATCH }, () => prompt);
  // eos -1 never matches: every row produces exactly newTokens tokens.
  const gen = () => { generate(model, images, prompts, { maxNewTokens: newTokens, eos: -1 }); };
  gen();
  const genProfile = await profileOnce(gen);
  const genTimes = timeRuns(gen, 5);
  images.dispose();
  model.dispose();
  return {
    size, params: countParams(model.config), vocabSize: tok.vocabSize,
    train: { batch: BATCH, textLen, ...trainTimes, ...trainProfile },
    generate: { batch: GEN_BATCH, promptLen: prompt.length, newTokens, ...genTimes, ...genProfile },
  };
}

async function main() {
  const label = process.argv[2];
  if (!label || !/^[\w.-]+$/.test(label)) throw new Error('usage: profile-step.ts <label> [tiny,small] [newTokens]');
  const sizes = (process.argv[3] ?? 'tiny,small').split(',') as ModelSize[];
  const newTokens = Number(process.argv[4] ?? 64);
  await initBackend();
  console.log(describeBackendChoice());
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // otherwise profiling reads back every output
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-step-'));
  writeSyntheticDataset(dir, { seed: 1, train: 64, val: 0, test: 0 });
  const ds = openDataset(dir);
  const results = [];
  for (const size of sizes) {
    const r = await profileSize(size, ds, newTokens);
    console.log(`${size}: train ${r.train.kernels} kernels, min ${r.train.minWallMs} ms wall / ${r.train.minCpuMs} ms CPU; ` +
      `generate ${r.generate.kernels} kernels, min ${r.generate.minWallMs} ms wall / ${r.generate.minCpuMs} ms CPU`);
    results.push(r);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const out = {
    label, backend: backendInfo().name, fixes: backendInfo().fixes, cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => round(x)), date: new Date().toISOString(), results,
  };
  const file = path.join(__dirname, 'results', `profile-${label}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

void main();
