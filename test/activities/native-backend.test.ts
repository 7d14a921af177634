// The native backend (tfjs-node, built by scripts/native-tfjs.js at set-up) under the conditions the
// stages meet: chosen by default, loaded again inside worker threads after the main thread loaded it
// (tensorflow/tfjs#8388 reports the addon failing from a second thread; the worker process loads it in
// its main thread to log the choice, then every stage loads it in its own thread), exact resume after a
// real SIGKILL on the native backend, and a cross-backend resume (wasm checkpoint → native) that is
// reported in the log, the heartbeats' phase and lineage.resume instead of passing as exact.
// Skipped, with the reason, where the set-up fell back to wasm (no toolchain, CLGRPO_NATIVE=0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { runStageInThread } from '../../activities/thread-runner';
import { backendInfo, compareOrigins, cpuKind, initBackend } from '../../lib/ml/backend';

/** What the environment gave before anything here started TF (the default applies otherwise). */
const THREADS_GIVEN = process.env.TF_NUM_INTRAOP_THREADS;
import { makeStageContext, runStageInChild } from '../helpers/stage-harness';
import { datasetInput, harnessContext, stageRef, tempStore, TINY_PRETRAIN } from './pretrain-fixtures';

const MODULE = path.resolve(__dirname, '../../activities/pretrain.ts');
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const NODE = { TFJS_BACKEND: 'node' };

/** Why the native backend cannot load here (undefined when it can), from a fresh process. */
function nativeUnavailable(): string | undefined {
  const r = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  return r.status === 0 ? undefined : (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`).trim();
}
const skip = nativeUnavailable();
const opts = skip ? { skip: `native backend not built here (${skip}); the set-up fell back to wasm` } : {};

test('without TFJS_BACKEND the native backend wins, naming why tfjs-node-gpu did not', opts, () => {
  const env = { ...process.env };
  delete env.TFJS_BACKEND;
  const script = `require(${JSON.stringify(path.resolve(__dirname, '../../lib/ml/backend.ts'))}).initBackend().then((i) => console.log(JSON.stringify(i)))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof backendInfo>;
  assert.equal(info.name, 'tfjs-node');
  assert.equal(info.tfBackend, 'tensorflow');
  assert.deepEqual(info.failed.map((f) => f.name), ['tfjs-node-gpu']);
  assert.match(info.failed[0].reason, /tfjs-node-gpu/);
  assert.deepEqual(info.cpu, cpuKind());
});

test('a stage in a worker thread loads the native backend after the main thread did, with the same bits as inline', opts, async () => {
  // The worker process's order: main thread first (describeBackend), then stages in threads.
  await initBackend({ env: NODE });
  assert.equal(backendInfo().name, 'tfjs-node');
  const root = tempStore();
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', { ...TINY_PRETRAIN, steps: 4 });
  const runIn = async (name: string, where: 'inline' | 'thread') => {
    const h = { ...harnessContext(root, stage, [ds], name), env: NODE };
    const { ctx, logs } = makeStageContext(h);
    const out = where === 'thread' ? await runStageInThread('pretrain', ctx) : await (await import(MODULE)).runPretrainStage(ctx);
    return { out, logs, weights: sha(path.join(h.outDir, 'model.safetensors')) };
  };
  const inline = await runIn('inline', 'inline');
  // Two threads at once, as a worker with two stage slots runs them.
  const [t1, t2] = await Promise.all([runIn('thread1', 'thread'), runIn('thread2', 'thread')]);
  for (const t of [inline, t1, t2]) {
    assert.equal((t.out.lineage!.backend as { name: string }).name, 'tfjs-node', JSON.stringify(t.out.lineage!.backend));
    assert.equal(t.out.summary!.backend, 'tfjs-node');
  }
  assert.equal(t1.weights, inline.weights, 'thread vs inline');
  assert.equal(t2.weights, inline.weights, 'thread vs thread');
  fs.rmSync(root, { recursive: true, force: true });
});

test('SIGKILL mid-pretrain on the native backend: the rerun resumes exactly (same backend and CPU) and ends bit-identical', opts, async () => {
  const root = tempStore();
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', TINY_PRETRAIN);
  const whole = { ...harnessContext(root, stage, [ds], 'whole'), env: NODE };
  const a = await runStageInChild(MODULE, 'runPretrainStage', whole);
  assert.equal(a.code, 0, JSON.stringify(a.error));
  assert.equal((a.result!.lineage!.backend as { name: string }).name, 'tfjs-node');

  const killed = { ...harnessContext(root, stage, [ds], 'killed'), env: NODE };
  const b1 = await runStageInChild(MODULE, 'runPretrainStage', killed, { killWhen: (hb) => hb.step >= 5 && !!hb.checkpoint });
  assert.equal(b1.signal, 'SIGKILL');
  const b2 = await runStageInChild(MODULE, 'runPretrainStage', { ...killed, attempt: 2, previousProgress: b1.heartbeats.at(-1) });
  assert.equal(b2.code, 0, JSON.stringify(b2.error));
  assert.ok(b2.heartbeats[0].step > 4, `resumed at ${b2.heartbeats[0].step}`);
  const resume = b2.result!.lineage!.resume as { exact: boolean; from: { backend: string }; to: { backend: string }; differs: string[] };
  assert.equal(resume.exact, true, JSON.stringify(resume));
  assert.equal(resume.from.backend, 'tfjs-node');
  assert.deepEqual(resume.differs, []);
  assert.ok(!b2.logs.some((l) => /written elsewhere/.test(l)), b2.logs.join('\n'));
  assert.ok(b2.heartbeats.every((h) => !h.phase?.startsWith('inexact')));
  assert.equal(sha(path.join(killed.outDir, 'model.safetensors')), sha(path.join(whole.outDir, 'model.safetensors')));
  fs.rmSync(root, { recursive: true, force: true });
});

test('a checkpoint written on wasm and resumed on native is reported as inexact, not hidden', opts, async () => {
  const root = tempStore();
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', TINY_PRETRAIN);
  const h = harnessContext(root, stage, [ds], 'cross'); // env: wasm
  const b1 = await runStageInChild(MODULE, 'runPretrainStage', h, { killWhen: (hb) => hb.step >= 5 && !!hb.checkpoint });
  assert.equal(b1.signal, 'SIGKILL');
  const ckpts = path.join(h.workDir, 'checkpoints');
  const latest = fs.readFileSync(path.join(ckpts, 'LATEST'), 'utf8').trim();
  const manifest = JSON.parse(fs.readFileSync(path.join(ckpts, latest, 'manifest.json'), 'utf8')) as { origin: { backend: string; cpu: unknown } };
  assert.equal(manifest.origin.backend, 'wasm', 'the checkpoint records the backend that wrote it');
  assert.deepEqual(manifest.origin.cpu, cpuKind(), 'and the CPU kind');

  const b2 = await runStageInChild(MODULE, 'runPretrainStage', { ...h, env: NODE, attempt: 2 });
  assert.equal(b2.code, 0, JSON.stringify(b2.error));
  const resume = b2.result!.lineage!.resume as { exact: boolean; from: { backend: string }; to: { backend: string }; differs: string[] };
  assert.equal(resume.exact, false);
  assert.equal(resume.from.backend, 'wasm');
  assert.equal(resume.to.backend, 'tfjs-node');
  assert.deepEqual(resume.differs, ['backend wasm → tfjs-node']);
  assert.ok(b2.logs.some((l) => /^warn pretrain resumes from a checkpoint written elsewhere \(backend wasm → tfjs-node\)/.test(l)), b2.logs.join('\n'));
  assert.ok(b2.heartbeats.filter((x) => x.phase === undefined || x.phase.startsWith('inexact')).every((x) => x.phase === 'inexact resume: backend wasm → tfjs-node'),
    JSON.stringify(b2.heartbeats.map((x) => x.phase)));
  fs.rmSync(root, { recursive: true, force: true });
});

test('compareOrigins: same origin is exact; a different CPU kind or an unrecorded origin is not', () => {
  const here = { backend: 'tfjs-node' as const, tfjsVersion: '4.22.0', cpu: { model: 'X', isa: 'aaa' } };
  assert.deepEqual(compareOrigins(here, here), { exact: true, differs: [] });
  assert.deepEqual(compareOrigins({ ...here, cpu: { model: 'X', isa: 'bbb' } }, here),
    { exact: false, differs: ['cpu X (isa bbb) → X (isa aaa)'] });
  assert.deepEqual(compareOrigins(undefined, here), { exact: false, differs: ['origin unrecorded'] });
});

test('compareOrigins: on one native backend the TF thread count is part of the origin', () => {
  const here = { backend: 'tfjs-node' as const, tfjsVersion: '4.22.0', cpu: { model: 'X', isa: 'aaa' }, threads: 1 };
  assert.deepEqual(compareOrigins(here, here), { exact: true, differs: [] });
  assert.deepEqual(compareOrigins({ ...here, threads: 2 }, here), { exact: false, differs: ['TF threads 2 → 1'] });
  assert.deepEqual(compareOrigins({ ...here, threads: 0 }, here), { exact: false, differs: ['TF threads TF default → 1'] });
  // a native checkpoint from before thread counts were recorded ran with TF's default
  const { threads: _, ...older } = here;
  assert.deepEqual(compareOrigins(older, here), { exact: false, differs: ['TF threads unrecorded → 1'] });
  // another backend is already the difference; wasm origins carry no thread count
  const wasm = { backend: 'wasm' as const, tfjsVersion: '4.22.0', cpu: { model: 'X', isa: 'aaa' } };
  assert.deepEqual(compareOrigins(wasm, here), { exact: false, differs: ['backend wasm → tfjs-node'] });
  assert.deepEqual(compareOrigins(wasm, wasm), { exact: true, differs: [] });
});

test('this process records the TF thread count its native backend runs with, 1 unless TF_NUM_INTRAOP_THREADS says otherwise', async () => {
  const info = await initBackend();
  if (info.name !== 'tfjs-node') return assert.equal(info.threads, undefined);
  assert.equal(info.threads, Number(THREADS_GIVEN ?? '1'));
  assert.equal(process.env.TF_NUM_INTRAOP_THREADS, THREADS_GIVEN ?? '1');
});
