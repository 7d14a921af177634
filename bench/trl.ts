// Benchmark of the TRL trainer (trainers/trl, issue 12) on CPU: step times of SFT, GRPO
// (format + accuracy, 1 iteration) and ClipLow GRPO (clip 0.2/0.1, 2 iterations) for two random-init
// Qwen2-VL models built by `python -m trainers.trl.fixtures` (deterministic, byte-identical): the
// test fixture (hidden 32, 2 layers, ~50k parameters) and a mid-size one (hidden 384, 4 layers,
// ~5M parameters). Each run is the real trainer subprocess driven by lib/stage/trainer-process.ts,
// the stage activities' runner (same job, same env filtering, same JSON-lines reader), on a tiny
// synthetic dataset + compact-attribute cot artifact built by the project's own code
// (test/activities/pretrain-fixtures.ts, as test/activities/trl.test.ts does).
// Per config and mode: start→hello (the trainer's imports before its first line), hello→first
// progress (model load, trainer setup and step 1), the median step time over steps 2..N from the
// arrival times of the progress lines (and from the trainer's own `stepSeconds`), last progress→exit
// (final save) and total wall. The GRPO split generation vs update is not in the progress metrics
// (TRL's profiling timers only report to wandb/mlflow/trackio); the bench gives the ClipLow − GRPO
// difference, the cost of the second iteration (one more policy forward+backward and the old-logprob
// forward), as the closest figure. Writes bench/results/trl.json with the machine facts (cpus,
// load average at start, torch threads); "skipped: no torch" when the Python env is absent.
// `node --import tsx bench/trl.ts [fixture,mid]` limits the configs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JsonObject } from '../lib/canonical';
import { pythonEnv } from '../lib/python-env';
import { resolveParams } from '../lib/spec/defaults';
import type { SpecKind } from '../lib/spec/kinds';
import { runTrainerProcess, trainerEnv, type TrainerHello, type TrainerJob, type TrainerResult } from '../lib/stage/trainer-process';
import type { ProgressDetails, StageContext } from '../lib/stage/types';
import { cotInput, datasetInput, tempStore } from '../test/activities/pretrain-fixtures';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results', 'trl.json');
const RUN_TIMEOUT_MS = 150_000; // one trainer run (~10–17 s on an idle 2-core CPU; the whole bench ~100 s)

interface Config { name: string; hidden: number; layers: number }
const CONFIGS: Config[] = [
  { name: 'fixture', hidden: 32, layers: 2 }, // the fixtures builder's defaults: the test fixture
  { name: 'mid', hidden: 384, layers: 4 },
];

const SFT = { steps: 6, batchSize: 4, warmupSteps: 1, checkpointEvery: 1000, keepCheckpoints: 1 };
const GRPO = { rewards: ['format', 'accuracy'], steps: 4, groupSize: 4, promptsPerStep: 2, microBatch: 8, maxNewTokens: 16,
  checkpointEvery: 1000, keepCheckpoints: 1 };
interface Mode { name: string; kind: SpecKind; command: 'sft' | 'grpo'; params: JsonObject }
const MODES: Mode[] = [
  { name: 'sft', kind: 'sft', command: 'sft', params: SFT },
  { name: 'grpo', kind: 'grpo', command: 'grpo', params: { ...GRPO, iterations: 1 } },
  { name: 'clgrpo', kind: 'clgrpo', command: 'grpo', params: { ...GRPO, iterations: 2, clip: { low: 0.2, high: 0.1 } } },
];

const r2 = (x: number) => Number(x.toFixed(2));
const r3 = (x: number) => Number(x.toFixed(3));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function loadavg() {
  return os.loadavg().map(r2);
}

/** torch's thread counts and import times in the env the trainer gets (also warms the page cache). */
function probeTorch(python: string) {
  const code = [
    'import json, time', 't = time.perf_counter()', 'import torch', 'a = time.perf_counter() - t',
    'import transformers, accelerate, trl', 'b = time.perf_counter() - t',
    "print(json.dumps({'threads': torch.get_num_threads(), 'interopThreads': torch.get_num_interop_threads(), 'importTorchSeconds': round(a, 2), 'importAllSeconds': round(b, 2)}))",
  ].join('\n');
  const r = spawnSync(python, ['-c', code], { cwd: ROOT, env: trainerEnv(process.env), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch probe failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

/** Builds a fixture model dir (deterministic); its parameter count and weight hash. */
function buildModel(python: string, dir: string, c: Config) {
  const t0 = performance.now();
  const r = spawnSync(python, ['-m', 'trainers.trl.fixtures', dir, '--family', 'qwen2-vl', '--hidden', String(c.hidden), '--layers', String(c.layers)],
    { cwd: ROOT, env: trainerEnv(process.env), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the ${c.name} model failed:\n${r.stderr}`);
  const fixture = JSON.parse(fs.readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { parameters: number };
  const sha = createHash('sha256').update(fs.readFileSync(path.join(dir, 'model.safetensors'))).digest('hex');
  return { parameters: fixture.parameters, weightsSha256: sha.slice(0, 16), buildSeconds: r2((performance.now() - t0) / 1000) };
}

interface RunTimes {
  helloSeconds: number;
  firstStepSeconds: number;
  medianStepSeconds: number;
  medianTrainerStepSeconds: number;
  stepSeconds: number[];
  tailSeconds: number;
  totalSeconds: number;
  steps: number;
  metrics: Record<string, number>;
  warnings: string[];
  /** 1-minute load average when the run ended: the bench itself is ~2 on 2 cores; more means another job competed. */
  loadavg1mAtEnd: number;
}

/** One trainer run through lib/stage/trainer-process.ts, timing the protocol lines as they arrive. */
async function timeRun(root: string, tag: string, mode: Mode, job: Omit<TrainerJob, 'params' | 'device' | 'dtype'>): Promise<RunTimes & { hello?: TrainerHello }> {
  const params = resolveParams(mode.kind, { trainer: 'trl', ...mode.params });
  const outDir = path.join(root, 'staging', tag);
  const workDir = path.join(root, 'work', tag);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(workDir, { recursive: true });
  const arrivals: Array<{ step: number; at: number; stepSeconds?: number }> = [];
  let helloAt = NaN;
  const abort = new AbortController();
  const note = (msg: string) => { if (msg.startsWith('trl trainer:') && Number.isNaN(helloAt)) helloAt = performance.now(); };
  const ctx: StageContext = {
    run: { runId: 'bench', workflowId: 'bench', pipeline: 'bench-trl', specHash: 'bench', seed: 0 },
    stage: { id: mode.name, kind: mode.kind === 'clgrpo' ? 'grpo' : mode.kind as 'sft' | 'grpo', key: `bench-${tag}`, params, seed: 5 },
    inputs: [], outDir, workDir, attempt: 1, workerIdentity: `bench@${os.hostname()}`,
    heartbeat: (d: ProgressDetails) => {
      // progress lines beat with phase 'training…'; checkpoint and warning beats repeat a step already seen
      if (!d.phase?.startsWith('training') || arrivals.some((a) => a.step === d.step)) return;
      arrivals.push({ step: d.step, at: performance.now(), stepSeconds: d.metrics?.stepSeconds });
    },
    signal: abort.signal,
    log: { info: note, warn: () => undefined, error: () => undefined },
    env: { ...process.env, CLGRPO_TRL_DEVICE: 'cpu' },
  };
  const timer = setTimeout(() => abort.abort(), RUN_TIMEOUT_MS);
  const t0 = performance.now();
  let r: TrainerResult;
  try {
    r = await runTrainerProcess(ctx, { ...job, params, device: 'cpu', dtype: 'auto' }, { redact: (t) => t });
  } finally {
    clearTimeout(timer);
  }
  const end = performance.now();
  if (arrivals.length < 2) throw new Error(`${tag}: only ${arrivals.length} progress lines`);
  const gaps = arrivals.slice(1).map((a, i) => (a.at - arrivals[i].at) / 1000);
  const own = arrivals.slice(1).map((a) => a.stepSeconds).filter((x): x is number => typeof x === 'number');
  const keep = ['loss', 'completionLength', 'zeroAdvantageFrac', 'reward.total', 'tokens', 'kl', 'clipLowFrac'];
  return {
    helloSeconds: r2((helloAt - t0) / 1000),
    firstStepSeconds: r2((arrivals[0].at - helloAt) / 1000),
    medianStepSeconds: r3(median(gaps)),
    medianTrainerStepSeconds: own.length ? r3(median(own)) : NaN,
    stepSeconds: gaps.map(r3),
    tailSeconds: r2((end - arrivals[arrivals.length - 1].at) / 1000),
    totalSeconds: r2((end - t0) / 1000),
    steps: arrivals.length,
    metrics: Object.fromEntries(keep.filter((k) => k in r.metrics).map((k) => [k, r3(r.metrics[k])])),
    warnings: r.warnings.map((w) => w.code),
    loadavg1mAtEnd: r2(os.loadavg()[0]),
    hello: r.hello,
  };
}

async function main() {
  const wanted = process.argv[2] ? process.argv[2].split(',') : CONFIGS.map((c) => c.name);
  const configs = CONFIGS.filter((c) => wanted.includes(c.name));
  const started = performance.now();
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', loadavgAtStart: loadavg(),
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? null };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  const env = pythonEnv();
  if (!('python' in env)) {
    console.log(`trl bench skipped: no torch (${env.missing})`);
    fs.writeFileSync(RESULTS, `${JSON.stringify({ skipped: 'no torch', why: env.missing, date: new Date().toISOString(), ...machine }, null, 2)}\n`);
    return;
  }
  const torch = probeTorch(env.python);
  console.log(`torch: ${torch.threads} threads (interop ${torch.interopThreads}); import torch ${torch.importTorchSeconds} s, + transformers/accelerate/trl ${torch.importAllSeconds} s`);
  const root = tempStore();
  try {
    const ds = datasetInput(root, { train: 16, val: 4, test: 4 });
    const cot = cotInput(root, ds);
    let hello: TrainerHello | undefined;
    const results = [];
    for (const c of configs) {
      const modelDir = path.join(root, 'models', c.name);
      const built = buildModel(env.python, modelDir, c);
      console.log(`\n${c.name}: hidden ${c.hidden}, ${c.layers} layers, ${built.parameters.toLocaleString('en')} parameters (built in ${built.buildSeconds} s)`);
      const runs: Record<string, RunTimes> = {};
      for (const m of MODES) {
        const inputs = m.command === 'sft' ? { dataset: ds.dir, cot: cot.dir } : { dataset: ds.dir };
        const { hello: h, ...t } = await timeRun(root, `${c.name}-${m.name}`, m, { command: m.command, model: modelDir, inputs });
        hello ??= h;
        runs[m.name] = t;
        console.log(`  ${m.name.padEnd(6)} hello ${t.helloSeconds.toFixed(1)} s, first step ${t.firstStepSeconds.toFixed(1)} s, `
          + `median step ${t.medianStepSeconds.toFixed(3)} s (trainer ${t.medianTrainerStepSeconds.toFixed(3)} s) over steps 2..${t.steps}, `
          + `tail ${t.tailSeconds.toFixed(1)} s, total ${t.totalSeconds.toFixed(1)} s`);
      }
      const second = runs.clgrpo && runs.grpo ? r3(runs.clgrpo.medianStepSeconds - runs.grpo.medianStepSeconds) : null;
      results.push({ ...c, ...built, runs, grpoSplit: {
        generationVsUpdate: 'not reported: the progress metrics carry no per-phase timings (TRL profiles only to wandb/mlflow/trackio)',
        secondIterationSeconds: second,
        secondIterationIs: 'median step of clgrpo (2 iterations) minus grpo (1 iteration): one more policy forward+backward plus the old-logprob forward',
      } });
    }
    const out = {
      date: new Date().toISOString(), ...machine, loadavgAtEnd: loadavg(), torch, versions: hello?.versions ?? null, device: hello?.device ?? null,
      dataset: { train: 16, val: 4, test: 4, cot: 'compact attribute chains (train split)' },
      modes: Object.fromEntries(MODES.map((m) => [m.name, resolveParams(m.kind, { trainer: 'trl', ...m.params })])),
      measures: {
        helloSeconds: 'spawn → hello line (Python start, torch/transformers/trl imports, device checks)',
        firstStepSeconds: 'hello → first progress line (data, model load, trainer construction, step 1)',
        medianStepSeconds: 'median gap between consecutive progress lines, steps 2..N (TS-side arrival times)',
        medianTrainerStepSeconds: "median of the trainer's own stepSeconds metric over steps 2..N",
        tailSeconds: 'last progress line → process exit (final checkpoint, save_pretrained, result)',
        totalSeconds: 'spawn → exit',
        loadavg1mAtEnd: '1-minute load average at the end of the run (the bench alone is ~2 on 2 cores; well above means contention, rerun)',
        step: 'sft: one optimizer step of batchSize rows; grpo: one rollout window (promptsPerStep × groupSize completions, iterations updates)',
      },
      configs: results,
      benchSeconds: r2((performance.now() - started) / 1000),
    };
    fs.writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(ROOT, RESULTS)} (${out.benchSeconds} s)`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
