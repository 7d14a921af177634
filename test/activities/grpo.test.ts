// The grpo stage on a real tiny model: format-only GRPO raises the mean format reward, the artifact
// is a model like sft's with curves, and a SIGKILLed stage resumes from its checkpoint to the same
// final weights, byte for byte, as an uninterrupted run.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkGrpoParams, runGrpoStage } from '../../activities/grpo';
import type { ProgressDetails, StageContext } from '../../activities/types';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { backendInfo } from '../../lib/ml/backend';
import type { GrpoParams } from '../../lib/ml/grpo/trainer';
import { loadModelDir } from '../../lib/ml/model-io';
import { makeTinyWorld, type TinyWorld } from '../unit/grpo/fixture';

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `clgrpo-grpo-${tag}-`));
let world: TinyWorld;

before(async () => {
  world = await makeTinyWorld();
});

const BASE: GrpoParams = {
  rewards: ['format'], steps: 10, groupSize: 8, promptsPerStep: 2, microBatch: 16, iterations: 2,
  clip: { low: 0.2, high: 0.2 }, beta: 0.04, lr: 1e-3, temperature: 0.7, topP: 1, maxNewTokens: 12,
  checkpointEvery: 5, keepCheckpoints: 2,
};

function ctxFor(params: GrpoParams, beats: ProgressDetails[], seed = 3): StageContext {
  return {
    run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed },
    stage: { id: 'grpo_fmt', kind: 'grpo', key: 'k', params: params as never, seed },
    inputs: [
      { input: 'model', from: 'sft', artifactId: 'model-id', kind: 'model', dir: world.modelDir, manifest: {} },
      { input: 'dataset', from: 'data', artifactId: 'data-id', kind: 'dataset', dir: world.datasetDir, manifest: {} },
    ],
    outDir: tmp('out'), workDir: tmp('work'), attempt: 1, workerIdentity: 'test',
    heartbeat: (d) => beats.push(d), signal: new AbortController().signal,
    log: { info: () => {}, warn: () => {}, error: () => {} }, env: {},
  };
}

const TIMING_CURVES = ['tokensPerSec', 'sampleMs', 'referenceMs', 'updateMs'];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('format-only GRPO raises the mean format reward of a partly formatted model', async () => {
  assert.ok(world.formatRate > 0 && world.formatRate < 1, `fixture format rate ${world.formatRate} must be in (0, 1)`);
  const beats: ProgressDetails[] = [];
  const ctx = ctxFor(BASE, beats);
  const out = await runGrpoStage(ctx);
  assert.equal(out.kind, 'model');
  // The backend record has pretrain/sft's fields: the choice and why every earlier candidate failed.
  const b = backendInfo();
  assert.deepEqual(out.lineage?.backend, {
    name: b.name, tfBackend: b.tfBackend, tfjsVersion: b.tfjsVersion, fixes: b.fixes, failed: b.failed, ...(b.forced ? { forced: b.forced } : {}),
    ...(b.threads !== undefined ? { threads: b.threads } : {}),
  });
  const training = JSON.parse(fs.readFileSync(path.join(ctx.outDir, 'training.json'), 'utf8'));
  assert.equal(training.kind, 'grpo');
  assert.equal(training.steps, BASE.steps);
  const fmt = (training.curves['reward.format'] as Array<[number, number]>).map(([, v]) => v);
  assert.deepEqual(training.curves['reward.format'].map(([s]: [number, number]) => s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const first = mean(fmt.slice(0, 4));
  const lastQ = mean(fmt.slice(-4));
  assert.ok(lastQ > first + 0.1, `format reward should rise: first 4 steps ${first.toFixed(3)}, last 4 ${lastQ.toFixed(3)} (${fmt})`);
  for (const k of ['kl', 'clipLowFrac', 'clipHighFrac', 'entropy', 'tokensPerSec', 'accuracy', 'formatRate']) {
    assert.ok(training.curves[k]?.length === BASE.steps && training.curves[k].every(([, v]: [number, number]) => Number.isFinite(v)), k);
  }
  // off-policy updates (iterations = 2) do clip some tokens
  assert.ok(training.curves.clipLowFrac.some(([, v]: [number, number]) => v > 0) || training.curves.clipHighFrac.some(([, v]: [number, number]) => v > 0));
  // heartbeats carry the per-reward means and the step
  const hb = beats.filter((b) => b.metrics);
  assert.equal(hb.at(-1)?.step, BASE.steps);
  for (const k of ['reward.format', 'accuracy', 'formatRate', 'kl', 'clipLowFrac', 'clipHighFrac', 'entropy', 'tokensPerSec']) {
    assert.ok(k in (hb[0].metrics ?? {}), `heartbeat lacks ${k}`);
  }
  // the artifact is a loadable model whose every weight moved away from the input's
  const before = loadModelDir(world.modelDir);
  const after = loadModelDir(ctx.outDir);
  for (const [name, v] of before.model.params) {
    const a = v.dataSync();
    const b = after.model.p(name).dataSync();
    assert.ok(a.some((x, i) => x !== b[i]), `${name} did not change`);
  }
  assert.deepEqual(after.tokenizer.toJSON(), before.tokenizer.toJSON());
  before.model.dispose();
  after.model.dispose();
});

function runChild(job: Record<string, unknown>): { done: Promise<number | null>; kill: () => void } {
  const file = path.join(tmp('job'), 'job.json');
  fs.writeFileSync(file, JSON.stringify(job));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../unit/grpo/grpo-child.ts'), file],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  return { done: new Promise((res) => child.on('exit', (code) => res(code))), kill: () => child.kill('SIGKILL') };
}

async function waitFor(file: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a SIGKILLed grpo stage resumes from its checkpoint to the same final weights', async () => {
  const params: GrpoParams = { ...BASE, rewards: ['format', 'accuracy'], steps: 4, groupSize: 4, microBatch: 8, checkpointEvery: 2 };
  const job = { modelDir: world.modelDir, datasetDir: world.datasetDir, params, seed: 11 };
  const straight = { ...job, workDir: tmp('w1'), outDir: tmp('o1') };
  assert.equal(await runChild(straight).done, 0);

  const resumed = { ...job, workDir: tmp('w2'), outDir: tmp('o2') };
  const marker = path.join(tmp('mark'), 'paused');
  const first = runChild({ ...resumed, pauseAt: 2, marker });
  await waitFor(marker, 300_000);
  first.kill();
  assert.equal(await first.done, null); // killed by the signal, not finished
  assert.ok(fs.existsSync(path.join(resumed.workDir, 'checkpoints', 'step-00000002')));
  assert.equal(fs.readdirSync(resumed.outDir).length, 0, 'nothing published by the killed attempt');
  assert.equal(await runChild(resumed).done, 0);

  const a = fs.readFileSync(path.join(straight.outDir, 'model.safetensors'));
  const b = fs.readFileSync(path.join(resumed.outDir, 'model.safetensors'));
  assert.ok(a.equals(b), 'final weights differ between the uninterrupted and the resumed run');
  // the curves match too, except wall-clock timings
  const curves = (dir: string) => {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')).curves as Record<string, unknown>;
    for (const k of TIMING_CURVES) delete c[k];
    return c;
  };
  assert.deepEqual(curves(resumed.outDir), curves(straight.outDir));
  assert.ok(Object.keys(curves(straight.outDir)).includes('kl'));
  const input = fs.readFileSync(path.join(world.modelDir, 'model.safetensors'));
  assert.ok(!a.equals(input), 'training changed nothing');
});

test('a grpo resume records whether it is exact: same origin yes; a checkpoint from another CPU kind is reported, not hidden', async () => {
  const params: GrpoParams = { ...BASE, steps: 2, groupSize: 4, microBatch: 8, checkpointEvery: 2 };
  const attempt = async (workDir: string, steps: number) => {
    const beats: ProgressDetails[] = [];
    const warns: string[] = [];
    const ctx = { ...ctxFor({ ...params, steps }, beats), workDir, log: { info: () => {}, warn: (m: string) => warns.push(m), error: () => {} } };
    const out = await runGrpoStage(ctx);
    return { out, beats, warns, resume: out.lineage?.resume as { exact: boolean; fromStep: number; from: { cpu: { isa: string } }; differs: string[] } | undefined };
  };
  // Same process, same backend: exact.
  const same = tmp('resume-same');
  const first = await attempt(same, 2);
  assert.equal(first.resume, undefined, 'a fresh attempt has no resume record');
  const again = await attempt(same, 4);
  assert.equal(again.out.lineage?.resumedFromStep, 2);
  assert.deepEqual({ exact: again.resume?.exact, fromStep: again.resume?.fromStep, differs: again.resume?.differs }, { exact: true, fromStep: 2, differs: [] });
  assert.ok(!again.warns.some((w) => /written elsewhere/.test(w)), again.warns.join('\n'));

  // The checkpoint says another CPU kind wrote it (its manifest's origin; the files' hashes do not cover it).
  const other = tmp('resume-other');
  await attempt(other, 2);
  const ckpts = path.join(other, 'checkpoints');
  const manifestFile = path.join(ckpts, fs.readFileSync(path.join(ckpts, 'LATEST'), 'utf8').trim(), 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  manifest.origin.cpu = { ...manifest.origin.cpu, isa: 'elsewhere' };
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  const moved = await attempt(other, 4);
  assert.equal(moved.resume?.exact, false);
  assert.equal(moved.resume?.from.cpu.isa, 'elsewhere');
  assert.equal(moved.resume?.differs.length, 1);
  assert.match(moved.resume!.differs[0], /^cpu .* \(isa elsewhere\) → /);
  assert.ok(moved.warns.some((w) => /^grpo warning inexact-resume: grpo resumes from a checkpoint written elsewhere \(cpu /.test(w)), moved.warns.join('\n'));
  const phased = moved.beats.filter((b) => b.phase !== undefined);
  assert.ok(phased.length > 0 && phased.every((b) => b.phase!.includes('(warning: inexact-resume)')), JSON.stringify(phased.map((b) => b.phase)));
});

test('cross-field params are checked with numbers, all at once', () => {
  assert.throws(() => checkGrpoParams({ ...BASE, groupSize: 3, promptsPerStep: 3, microBatch: 4, clip: { low: 1, high: 0.1 } }, 'stage x'),
    (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Config
      && /promptsPerStep × groupSize = 9 is not divisible by microBatch 4/.test(e.message) && /clip.low must be in \[0, 1\) \(got 1\)/.test(e.message));
  assert.throws(() => checkGrpoParams({ ...BASE, rewards: ['formatt'] as unknown as typeof BASE.rewards }, 'stage x'), /unknown reward 'formatt'/);
});
