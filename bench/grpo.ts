// Benchmark of one GRPO step at the `small` size with the stage's default params (8 completions ×
// 4 prompts, 48 new tokens, 2 iterations, micro-batch 32), split into its three phases: sampling
// (KV-cache decoding of the rollout), the reference pass (a forward of the frozen model) and the
// update (`iterations` forward+backward passes and AdamW). The model is freshly initialized, so it
// never emits end of text: every completion runs to maxNewTokens, the worst case.
// Prints a table and writes bench/results/grpo.json; medians over the steps after the first (warmup).
// BENCH_GRPO_STEPS (default 4) and BENCH_GRPO_SIZE (default small) override.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendInfo, describeBackendChoice, initBackend } from '../lib/ml/backend';
import { writeSyntheticDataset } from '../lib/ml/data/build-synthetic';
import { openDataset } from '../lib/ml/data/dataset';
import { trainGrpo, type GrpoParams } from '../lib/ml/grpo/trainer';
import { VlmModel, countParams, modelConfig, type ModelSize } from '../lib/ml/model';
import { writeModelFiles } from '../lib/ml/model-io';
import { tokenizerCorpus } from '../lib/ml/prompt';
import { Worker } from 'node:worker_threads';
import { Tokenizer } from '../lib/ml/tokenizer';
import { rngFor } from '../lib/rng';

type Ask = (rows: number[]) => Promise<{ ms: number; tokens: number }>;

/** Starts a sampling worker thread (its own wasm backend) on a model artifact dir. */
async function samplingWorker(modelDir: string, datasetDir: string): Promise<{ ask: Ask; stop: () => Promise<number> }> {
  // BENCH_SAMPLE_WORKER names a prebuilt JS worker (a bundled bench, where tsx is absent).
  const built = process.env.BENCH_SAMPLE_WORKER;
  const file = path.join(__dirname, '..', 'lib', 'ml', 'grpo', 'sample-worker.ts');
  const w = built ? new Worker(built, { workerData: { modelDir, datasetDir } })
    : new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: { modelDir, datasetDir } });
  await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
  const ask: Ask = (rows) => new Promise((res) => { w.once('message', res); w.postMessage({ rows, maxNewTokens: 48, seed: 1 }); });
  return { ask, stop: () => w.terminate() };
}

/**
 * Would a second core speed up sampling? Rows are independent, so the rollout could be split over
 * two worker threads. Times the 32-row rollout in one thread against 16 rows in each of two threads
 * at once (after a warmup); medians of `reps`.
 */
async function twoThreadSampling(modelDir: string, datasetDir: string, reps: number) {
  const [a, b] = await Promise.all([samplingWorker(modelDir, datasetDir), samplingWorker(modelDir, datasetDir)]);
  try {
    const rows = Array.from({ length: 32 }, (_, i) => i);
    await Promise.all([a.ask(rows.slice(0, 4)), b.ask(rows.slice(0, 4))]);
    const one: number[] = [];
    const two: number[] = [];
    const half: number[] = [];
    for (let r = 0; r < reps; r++) {
      one.push((await a.ask(rows)).ms);
      half.push((await a.ask(rows.slice(0, 16))).ms);
      const t0 = performance.now();
      await Promise.all([a.ask(rows.slice(0, 16)), b.ask(rows.slice(16))]);
      two.push(performance.now() - t0);
    }
    const o = Math.round(median(one));
    const t = Math.round(median(two));
    return { rows: 32, oneThreadMs: o, oneThreadHalfRowsMs: Math.round(median(half)), twoThreadsMs: t, speedup: +(o / t).toFixed(2) };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);

async function main(): Promise<void> {
  await initBackend();
  console.log(describeBackendChoice());
  const steps = Number(process.env.BENCH_GRPO_STEPS ?? 4);
  const size = (process.env.BENCH_GRPO_SIZE ?? 'small') as ModelSize;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-bench-grpo-'));
  try {
    const dsDir = path.join(root, 'dataset');
    fs.mkdirSync(dsDir);
    writeSyntheticDataset(dsDir, { seed: 1, train: 64, val: 8, test: 8 });
    const ds = openDataset(dsDir);
    const tok = Tokenizer.train(tokenizerCorpus(ds.samples('train'), ds.meta.labels), 480);
    const cfg = modelConfig(size, tok.vocabSize, ds.meta.imageSize);
    const policy = VlmModel.create(cfg, rngFor(1, 'bench-init'));
    const reference = VlmModel.create(cfg, rngFor(1, 'bench-init'));
    const params: GrpoParams = {
      rewards: ['format', 'accuracy'], steps, groupSize: 8, promptsPerStep: 4, microBatch: 32, iterations: 2,
      clip: { low: 0.2, high: 0.1 }, beta: 0.04, lr: 1e-4, temperature: 1, topP: 1, maxNewTokens: 48,
      checkpointEvery: 1000, keepCheckpoints: 1,
    };
    const per: Array<Record<string, number>> = [];
    await trainGrpo({
      policy, reference, tokenizer: tok, dataset: ds, params, seed: 1, workDir: path.join(root, 'work'),
      heartbeat: () => undefined,
      afterStep: (step, m, cpu) => {
        per.push({ step, sampleMs: m.sampleMs, referenceMs: m.referenceMs, updateMs: m.updateMs, tokens: m.completionLength * 32,
          sampleCpuMs: cpu.sample, referenceCpuMs: cpu.reference, updateCpuMs: cpu.update });
        console.log(`step ${step}: sampling ${m.sampleMs.toFixed(0)} ms (cpu ${cpu.sample.toFixed(0)}), reference ${m.referenceMs.toFixed(0)} ms `
          + `(cpu ${cpu.reference.toFixed(0)}), update ${m.updateMs.toFixed(0)} ms (cpu ${cpu.update.toFixed(0)})`);
      },
    });
    const measured = per.length > 1 ? per.slice(1) : per;
    const med = (k: string) => Math.round(median(measured.map((r) => r[k])));
    const sampling = med('sampleMs');
    const ref = med('referenceMs');
    const update = med('updateMs');
    const total = sampling + ref + update;
    const result = {
      backend: backendInfo().name, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
      date: new Date().toISOString(), size, params: countParams(cfg), vocabSize: tok.vocabSize,
      config: { groupSize: 8, promptsPerStep: 4, rows: 32, maxNewTokens: 48, iterations: 2, microBatch: 32 },
      stepsMeasured: measured.length,
      medianMs: { sampling, reference: ref, update, total },
      /** CPU time of this process per phase: less disturbed than wall time when the machine is shared. */
      medianCpuMs: { sampling: med('sampleCpuMs'), reference: med('referenceCpuMs'), update: med('updateCpuMs') },
      share: { sampling: +(sampling / total).toFixed(3), reference: +(ref / total).toFixed(3), update: +(update / total).toFixed(3) },
      sampledTokensPerSec: Math.round(median(measured.map((r) => r.tokens / (r.sampleMs / 1000)))),
      perStep: per.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)]))),
    };
    writeModelFiles(path.join(root, 'model'), policy, tok);
    const threads = await twoThreadSampling(path.join(root, 'model'), dsDir, Number(process.env.BENCH_GRPO_THREAD_REPS ?? 2));
    Object.assign(result, { twoThreadSampling: threads });
    console.log(`sampling 32 rows: one thread ${threads.oneThreadMs} ms (16 rows: ${threads.oneThreadHalfRowsMs} ms), `
      + `two threads × 16 rows ${threads.twoThreadsMs} ms: speedup ${threads.speedup}`);
    console.table({ sampling: { ms: sampling, share: result.share.sampling }, reference: { ms: ref, share: result.share.reference },
      update: { ms: update, share: result.share.update } });
    const out = process.env.BENCH_GRPO_OUT ?? path.join(__dirname, 'results', 'grpo.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${out}`);
    policy.dispose();
    reference.dispose();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
