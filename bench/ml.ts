// Benchmark of the VLM on the chosen backend, for the `tiny` and `small` sizes:
//  - training tokens/s (decoder positions = image tokens + text, per second) and achieved GFLOP/s
//    from the FLOP count of a step (model-config.ts trainFlopsPerStep), on realistic CoT examples;
//  - generation tokens/s for 8 and 32 sequences (32: a GRPO rollout, 4 prompts × 8) × 64 new tokens
//    with the KV cache, one-token steps three ways, interleaved rep by rep so a shared machine's load
//    hits all alike: TF.js kernels (`tf`, the only path before issue 14), the JS step with WebAssembly
//    SIMD matmuls (`simd`, decode-js.ts + wasm-simd.ts) and with scalar-JS ones (`scalar`);
//    ratios between them, and generate's default per batch (`defaultDecode`); then 8 sequences by
//    recomputation (the KV speedup's baseline).
// Prints a table and writes bench/results/ml.json. Medians of several repeats. Each figure is given
// per wall-clock second and per CPU second of this process (process.cpuUsage): on a machine shared
// with other jobs the wall figure is depressed by contention, the CPU figure much less.
// Targets (2-core CPU): small trains at ≥ 600 tokens/s; KV cache ≥ 20× faster than recompute.
// Then the PyTorch yardstick (issue 14.4, bench/reference/): the same model in PyTorch trains on the
// same batches from the same initial weights and generates with its KV cache, interleaved rep by rep
// with the project's own step, at 1 and 2 threads on both sides (on the native backend each count in
// a child process whose TF runs that many threads); ratios project/PyTorch per wall and per CPU
// second, and the float32 matmul limit of numpy/torch beside the backend's own. Needs the Python env
// (`npm run setup:python`, or CLGRPO_BENCH_TORCH=1 to install it here); otherwise "skipped: no torch".
// `node --import tsx bench/ml.ts [tiny,small] [--gen-only] [--out file.json] [--threads N]`: sizes
// of both parts; --gen-only skips training, recomputation and PyTorch; --out writes elsewhere than
// bench/results; --threads N runs only the side-by-side at N threads (what the children run).
import { spawnSync } from 'node:child_process';
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
import { defaultDecode, generate, type GenerateOptions } from '../lib/ml/sampling';
import { defaultJsKernel } from '../lib/ml/decode-js';
import { Tokenizer } from '../lib/ml/tokenizer';
import { corpusForTokenizer, exampleImages, vocabSizeFor, type SupervisedExample } from '../lib/ml/train-data';
import { maskedNll } from '../lib/ml/train-loop';
import { rngFor } from '../lib/rng';
import { writeModelFiles } from '../lib/ml/model-io';
import { REFERENCE_ENV, matmulLimit, projectMatmulGflops, referencePython, startReference, type Reference } from './reference/yardstick';

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
const ROLLOUT_BATCH = 32;
const NEW_TOKENS = 64;

type Ds = ReturnType<typeof openDataset>;
const batchAt = (examples: SupervisedExample[], s: number) =>
  examples.slice((s * BATCH) % (examples.length - BATCH), ((s * BATCH) % (examples.length - BATCH)) + BATCH);

/** One training step as train-loop.ts takes it (images, loss, gradients, clip at 1, AdamW at 1e-3); returns the loss. */
function projectTrainStep(model: VlmModel, opt: AdamW, ds: Ds, batch: SupervisedExample[]): number {
  const images = exampleImages(ds, 'train', batch);
  const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), model.trainableVariables());
  const loss = value.dataSync()[0];
  const list = model.trainableVariables().map((v) => grads[v.name]);
  const clipped = clipByGlobalNorm(list, 1);
  opt.apply(model.params, new Map([...model.params.keys()].map((n, i) => [n, clipped.grads[i]])), 1e-3);
  tf.dispose([value, images, ...list, ...clipped.grads]);
  return loss;
}

function timeTrainSteps(model: VlmModel, ds: Ds, examples: SupervisedExample[], steps: number): Timing[] {
  const opt = new AdamW({ weightDecay: 0.01 });
  const times: Timing[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const batch = batchAt(examples, s);
    const t = timed(() => projectTrainStep(model, opt, ds, batch));
    if (s >= 2) times.push(t); // the first two steps warm the kernels up
  }
  opt.dispose();
  return times;
}

type GenMode = 'simd' | 'scalar' | 'tf' | 'recompute';
const GEN_OPTS: Record<GenMode, Partial<GenerateOptions>> = {
  simd: { decode: 'js', jsKernel: 'simd' }, scalar: { decode: 'js', jsKernel: 'scalar' }, tf: { decode: 'tf' }, recompute: { useCache: false },
};

function timeGeneration(model: VlmModel, ds: Ds, prompt: number[], mode: GenMode, reps: number, rows = GEN_BATCH): Timing[] {
  const how = GEN_OPTS[mode];
  const images = tf.tensor4d(ds.batch('train', Array.from({ length: rows }, (_, i) => i)), [rows, 32, 32, 3]);
  const times: Timing[] = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    // eos -1 never matches: every row produces exactly NEW_TOKENS tokens.
    times.push(timed(() => { n = generate(model, images, Array.from({ length: rows }, () => prompt), { maxNewTokens: NEW_TOKENS, eos: -1, ...how }).tokens[0].length; }));
    if (n !== NEW_TOKENS) throw new Error('generation stopped early');
  }
  images.dispose();
  return times;
}

/**
 * The three cached decode steps on `rows` sequences, one generation of each in turn per rep (after a
 * warm-up round): tokens per wall and CPU second, and ratios per CPU second (medians).
 */
function compareDecodes(model: VlmModel, ds: Ds, prompt: number[], rows: number, reps: number) {
  const modes = (['tf', 'scalar', 'simd'] as const).filter((m) => m !== 'simd' || defaultJsKernel === 'simd');
  const times = new Map<GenMode, Timing[]>(modes.map((m) => [m, []]));
  for (let r = -1; r < reps; r++) {
    for (const m of modes) {
      const t = timeGeneration(model, ds, prompt, m, 1, rows);
      if (r >= 0) times.get(m)!.push(...t);
    }
  }
  const n = rows * NEW_TOKENS;
  const perCpu = Object.fromEntries(modes.map((m) => [m, rate(n, times.get(m)!, 'cpu')]));
  const perWall = Object.fromEntries(modes.map((m) => [m, rate(n, times.get(m)!, 'wall')]));
  const ratios = 'simd' in perCpu ? { simdOverScalar: ratio(perCpu.simd, perCpu.scalar), simdOverTf: ratio(perCpu.simd, perCpu.tf), scalarOverTf: ratio(perCpu.scalar, perCpu.tf) }
    : { scalarOverTf: ratio(perCpu.scalar, perCpu.tf) };
  return { rows, newTokens: NEW_TOKENS, reps, tokensPerCpuSec: perCpu, tokensPerSec: perWall, cpuRatios: ratios, defaultDecode: defaultDecode(model.config, rows) };
}

const TORCH_THREADS = [1, 2];

interface SideTimes { project: Timing[]; torch: Timing[] }
const rate = (n: number, ts: Timing[], k: 'wall' | 'cpu') => Math.round(median(ts.map((t) => (n * 1000) / t[k])));
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/** Rates of both sides and their ratios project/PyTorch (and the inverse, "PyTorch is N× faster"). */
function compare(n: number, t: SideTimes, unit: string) {
  const p = { [`${unit}PerSec`]: rate(n, t.project, 'wall'), [`${unit}PerCpuSec`]: rate(n, t.project, 'cpu') };
  const q = { [`${unit}PerSec`]: rate(n, t.torch, 'wall'), [`${unit}PerCpuSec`]: rate(n, t.torch, 'cpu') };
  const w = `${unit}PerSec`;
  const c = `${unit}PerCpuSec`;
  return {
    project: p, torch: q,
    projectOverTorch: { wall: ratio(p[w], q[w]), cpu: ratio(p[c], q[c]) },
    torchOverProject: { wall: ratio(q[w], p[w]), cpu: ratio(q[c], p[c]) },
  };
}

/**
 * The project and the PyTorch reference side by side on one size: both start from the same weights
 * (written as a model artifact the reference loads) and train on the same batch sequence, one step
 * each in turn (2 warm-up steps, then `reps`); then 8 × 64 greedy tokens with the KV cache, in turn.
 * `threadCounts` are torch's; the project's are this process's (see threadMatchedSideBySide).
 */
async function sideBySide(ref: Reference, size: ModelSize, tok: Tokenizer, ds: Ds, examples: SupervisedExample[], prompt: number[], reps: number,
  threadCounts: number[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-torch-'));
  const model = VlmModel.create(modelConfig(size, tok.vocabSize), rngFor(1, 'bench', size));
  const opt = new AdamW({ weightDecay: 0.01 });
  try {
    writeModelFiles(dir, model, tok);
    const steps = threadCounts.length * (reps + 2);
    const batches = Array.from({ length: steps }, (_, s) => batchAt(examples, s));
    const genIdx = Array.from({ length: GEN_BATCH }, (_, i) => i);
    // The reference's images: every batch's in order, then the generation batch.
    const pixels = ds.batch('train', [...batches.flat().map((e) => e.image), ...genIdx]);
    fs.writeFileSync(path.join(dir, 'images.f32'), Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    await ref.request({ op: 'load', modelDir: dir, images: path.join(dir, 'images.f32'), count: steps * BATCH + GEN_BATCH, weightDecay: 0.01 });
    const P = numPatches(model.config);
    const losses: Array<[number, number]> = [];
    const out = [];
    let s = 0;
    for (const threads of threadCounts) {
      const train: SideTimes = { project: [], torch: [] };
      const pos: number[] = [];
      for (let r = -2; r < reps; r++, s++) {
        const batch = batches[s];
        let loss = NaN;
        const own = timed(() => { loss = projectTrainStep(model, opt, ds, batch); });
        const theirs = await ref.request<{ times: Timing[]; losses: number[] }>({
          op: 'train', threads, lr: 1e-3, clip: 1,
          batches: [{ indices: batch.map((_, i) => s * BATCH + i), prompts: batch.map((e) => e.prompt), completions: batch.map((e) => e.completion) }],
        });
        losses.push([loss, theirs.losses[0]]);
        if (r < 0) continue;
        train.project.push(own);
        train.torch.push(theirs.times[0]);
        pos.push(BATCH * (P + Math.max(...batch.map((e) => e.prompt.length + e.completion.length))));
      }
      const gen: SideTimes = { project: [], torch: [] };
      const images = tf.tensor4d(ds.batch('train', genIdx), [GEN_BATCH, 32, 32, 3]);
      const prompts = genIdx.map(() => prompt);
      for (let r = -1; r < reps; r++) {
        const own = timed(() => { generate(model, images, prompts, { maxNewTokens: NEW_TOKENS, eos: -1 }); });
        const theirs = await ref.request<{ times: Timing[] }>({ op: 'generate', threads, reps: 1, newTokens: NEW_TOKENS, prompts, indices: genIdx.map((i) => steps * BATCH + i) });
        if (r < 0) continue;
        gen.project.push(own);
        gen.torch.push(theirs.times[0]);
      }
      images.dispose();
      // Every batch here has the same shape within a few tokens: the median count stands for all.
      const r = { size, torchThreads: threads, projectBackend: backendInfo().name, projectThreads: projectThreads(), reps, train: compare(median(pos), train, 'positions'), generate: compare(GEN_BATCH * NEW_TOKENS, gen, 'tokens') };
      console.log(JSON.stringify(r));
      out.push(r);
    }
    // Same weights, same batches, same optimizer: the losses track each other (parity under training).
    const drift = Math.max(...losses.map(([a, b]) => Math.abs(a - b)));
    return { results: out, firstStepLoss: { project: losses[0][0], torch: losses[0][1] }, maxLossDiffOverSteps: Number(drift.toExponential(2)), steps: losses.length };
  } finally {
    opt.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The threads this process's backend computes on: native, as recorded by backend.ts (0: TF's default, one per core); wasm and cpu one. */
function projectThreads(): number | 'tf default' {
  const { threads } = backendInfo();
  return threads === undefined ? 1 : threads || 'tf default';
}

/**
 * The side-by-side per torch thread count in a child process whose TF.js native backend runs that
 * many threads too (TF reads TF_NUM_INTRAOP_THREADS/INTEROP once, when it starts): per CPU-second
 * 1 thread against 1 thread — with TF's default two threads the project's CPU time also counted the
 * second thread's waiting (small training per CPU-s 0.49× PyTorch 1-thread that way). Results are
 * merged per size in thread order.
 */
function threadMatchedSideBySide(sizes: ModelSize[]): Record<string, unknown>[] {
  const merged = new Map<string, { size: string; results: unknown[]; parity: unknown[] }>();
  for (const t of TORCH_THREADS) {
    const out = path.join(os.tmpdir(), `bench-ml-threads-${process.pid}-${t}.json`);
    const n = String(t);
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, sizes.join(','), '--threads', n, '--out', out],
      { stdio: 'inherit', env: { ...process.env, TF_NUM_INTRAOP_THREADS: n, TF_NUM_INTEROP_THREADS: n } });
    if (r.status !== 0) throw new Error(`bench/ml.ts --threads ${n} failed (exit ${r.status})`);
    const child = JSON.parse(fs.readFileSync(out, 'utf8')) as { torch: { sizes: Array<{ size: string; results: unknown[] } & Record<string, unknown>> } };
    fs.rmSync(out, { force: true });
    for (const { size, results, ...parity } of child.torch.sizes) {
      const m = merged.get(size) ?? { size, results: [], parity: [] };
      m.results.push(...results);
      m.parity.push({ threads: t, ...parity });
      merged.set(size, m);
    }
  }
  return [...merged.values()];
}

async function main() {
  const args = process.argv.slice(2);
  const threadsAt = args.indexOf('--threads');
  const onlyThreads = threadsAt >= 0 ? Number(args[threadsAt + 1]) : undefined;
  if (onlyThreads !== undefined && !(Number.isInteger(onlyThreads) && onlyThreads > 0)) throw new Error(`--threads ${args[threadsAt + 1]}: expected a positive integer`);
  await initBackend();
  console.log(describeBackendChoice());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ml-'));
  writeSyntheticDataset(dir, { seed: 1, train: 600, val: 0, test: 0 });
  const ds = openDataset(dir);
  const results: Record<string, unknown>[] = [];
  const genOnly = args.includes('--gen-only');
  const outAt = args.indexOf('--out');
  const outFile = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(__dirname, 'results', 'ml.json');
  const sizes = (args.find((a, i) => !a.startsWith('--') && i !== outAt + 1 && i !== threadsAt + 1) ?? 'tiny,small').split(',') as ModelSize[];
  const py: ReturnType<typeof referencePython> = genOnly ? { skipped: '--gen-only' } : referencePython();
  // On the native backend the side-by-side runs in children with matched thread counts; here only with --threads (a child) or on wasm.
  const inChildren = 'python' in py && onlyThreads === undefined && backendInfo().name !== 'wasm';
  const ref = 'python' in py && !inChildren ? startReference(py.python) : undefined;
  const torchSizes: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const tok = Tokenizer.train(corpusForTokenizer(ds), vocabSizeFor(size));
    const prompt = encodePrompt(tok, TASK_PROMPT);
    const examples = ds.samples('train').map((s) => ({
      image: s.index, prompt,
      completion: encodeCompletion(tok, cotCompletion(compactRationale(s.attributes as Record<string, string | null>), s.label)),
    }));
    const textLen = median(examples.map((e) => e.prompt.length + e.completion.length));
    if (onlyThreads !== undefined) {
      if (ref) torchSizes.push({ size, ...(await sideBySide(ref, size, tok, ds, examples, prompt, size === 'tiny' ? 5 : 3, [onlyThreads])) });
      continue;
    }
    const model = VlmModel.create(modelConfig(size, tok.vocabSize), rngFor(1, 'bench', size));
    const decodes = [GEN_BATCH, ROLLOUT_BATCH].map((rows) => compareDecodes(model, ds, prompt, rows, size === 'tiny' ? 5 : 3));
    let r: Record<string, unknown> = { size, params: countParams(model.config), vocabSize: tok.vocabSize, jsKernel: defaultJsKernel, decodes };
    if (!genOnly) {
      const step = med(timeTrainSteps(model, ds, examples, size === 'tiny' ? 10 : 6));
      // FLOPs at the median text length (batches are padded to their longest; close to the median here).
      const flops = trainFlopsPerStep(model.config, BATCH, textLen);
      const positions = BATCH * (numPatches(model.config) + textLen);
      const kv = med(timeGeneration(model, ds, prompt, defaultDecode(model.config, GEN_BATCH) === 'tf' ? 'tf' : defaultJsKernel, 3));
      const full = med(timeGeneration(model, ds, prompt, 'recompute', size === 'tiny' ? 3 : 1));
      const genTokens = GEN_BATCH * NEW_TOKENS;
      const perSec = (n: number, ms: number) => Math.round((n * 1000) / ms);
      r = {
        ...r, batch: BATCH, medianTextTokens: textLen,
        trainStepMs: Math.round(step.wall), trainStepCpuMs: Math.round(step.cpu),
        trainTokensPerSec: perSec(positions, step.wall), trainTokensPerCpuSec: perSec(positions, step.cpu),
        trainTextTokensPerSec: perSec(BATCH * textLen, step.wall),
        trainGflops: Number((flops / step.wall / 1e6).toFixed(2)), trainGflopsPerCpuSec: Number((flops / step.cpu / 1e6).toFixed(2)),
        genBatch: GEN_BATCH, genNewTokens: NEW_TOKENS,
        genTokensPerSecKv: perSec(genTokens, kv.wall), genTokensPerCpuSecKv: perSec(genTokens, kv.cpu),
        genTokensPerSecRecompute: perSec(genTokens, full.wall), genTokensPerCpuSecRecompute: perSec(genTokens, full.cpu),
        kvSpeedup: Number((full.wall / kv.wall).toFixed(1)), kvSpeedupCpu: Number((full.cpu / kv.cpu).toFixed(1)),
      };
    }
    console.log(JSON.stringify(r));
    results.push(r);
    model.dispose();
    if (ref && !genOnly) torchSizes.push({ size, ...(await sideBySide(ref, size, tok, ds, examples, prompt, size === 'tiny' ? 5 : 3, TORCH_THREADS)) });
  }
  if (inChildren) torchSizes.push(...threadMatchedSideBySide(sizes));
  fs.rmSync(dir, { recursive: true, force: true });
  let torch: Record<string, unknown>;
  if ('skipped' in py) {
    console.log(`PyTorch yardstick skipped: ${py.skipped}`);
    torch = { skipped: py.skipped };
  } else {
    ref?.close();
    const matmul = onlyThreads !== undefined ? undefined
      : { n: 1024, projectGflops: projectMatmulGflops(), reference: TORCH_THREADS.map((t) => matmulLimit(py.python, t)) };
    console.log(JSON.stringify({ matmul }));
    torch = { env: REFERENCE_ENV, matmul, sizes: torchSizes };
  }
  const out = { backend: backendInfo().name, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))), date: new Date().toISOString(), results, torch };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
}

void main();
