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
import { tokenizerCorpus } from '../lib/ml/prompt';
import { Tokenizer } from '../lib/ml/tokenizer';
import { rngFor } from '../lib/rng';

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
    console.table({ sampling: { ms: sampling, share: result.share.sampling }, reference: { ms: ref, share: result.share.reference },
      update: { ms: update, share: result.share.update } });
    const out = path.join(__dirname, 'results', 'grpo.json');
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
