// lib/stage/trainer-process.ts against a real process: a stand-in Python script that speaks the
// JSON-lines protocol (test/fixtures/trl-standin/standin.py, standard library only) so the paths a
// real trainer rarely takes — garbage on stdout, a crash, a typed error, cancellation with and
// without a cooperative trainer — are exercised with real pipes and signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClgrpoError, ErrorType } from '../../../lib/errors';
import { runTrainerProcess, trainerEnv } from '../../../lib/stage/trainer-process';
import type { ProgressDetails, StageContext } from '../../../lib/stage/types';

const STANDIN = join(__dirname, '..', '..', 'fixtures', 'trl-standin', 'standin.py');
const PY = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
if (!PY) throw new Error('these tests need a python3 on PATH (any version ≥ 3.8; the stand-in uses the standard library only)');
const SECRET = 'sk-test-0123456789abcdef';

function fakeCtx(mode: string, signal = new AbortController().signal) {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-tp-'));
  const beats: ProgressDetails[] = [];
  const logs: { level: string; msg: string }[] = [];
  const log = (level: string) => (msg: string) => { logs.push({ level, msg }); };
  const ctx: StageContext = {
    run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed: 7 },
    stage: { id: 'sft', kind: 'sft', key: 'k'.repeat(64), params: { mode, lr: 0.001 }, seed: 7 },
    inputs: [], outDir: mkdtempSync(join(dir, 'out-')), workDir: mkdtempSync(join(dir, 'work-')), attempt: 1, workerIdentity: 't',
    heartbeat: (d) => beats.push(d), signal, log: { info: log('info'), warn: log('warn'), error: log('error') },
    env: { PATH: process.env.PATH, TEACHER_KEY: SECRET },
  };
  const redact = (t: string) => t.split(SECRET).join('[redacted:TEACHER_KEY]');
  return { ctx, beats, logs, redact, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const run = (f: ReturnType<typeof fakeCtx>, graceMs = 20_000) =>
  runTrainerProcess(f.ctx, { command: 'sft', inputs: {}, params: f.ctx.stage.params }, { redact: f.redact, python: PY, args: [STANDIN], graceMs });

async function rejection(p: Promise<unknown>): Promise<ClgrpoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ClgrpoError, `not a ClgrpoError: ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

void test('a full run: hello, progress → heartbeats, checkpoint → heartbeat field, warning → log + status, result; offline env, no secrets', async () => {
  const f = fakeCtx('ok');
  try {
    const r = await run(f);
    assert.deepEqual(r.metrics, { loss: 0.25 });
    assert.deepEqual(r.lineage, { trlConfig: { learning_rate: 0.001 } });
    assert.equal(r.hello?.device, 'cpu');
    assert.equal(r.checkpoint, 'ckpt-1');
    assert.deepEqual(r.warnings.map((w) => w.code), ['zero-advantage']);
    assert.deepEqual(f.beats[0], { step: 1, total: 2, metrics: { loss: 0.5, zeroAdvantageFrac: 1 }, phase: 'training' });
    const last = f.beats[f.beats.length - 1];
    assert.deepEqual(last, { step: 2, total: 2, metrics: { loss: 0.25 }, phase: 'training (warning: zero-advantage)', checkpoint: 'ckpt-1' });
    assert.ok(f.logs.some((l) => l.level === 'warn' && /zero-advantage/.test(l.msg)));
    const written = JSON.parse(readFileSync(join(f.ctx.outDir, 'config.json'), 'utf8')) as { env: Record<string, string | null>; job: Record<string, unknown> };
    assert.deepEqual(written.env, { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TEACHER_KEY: null }); // the worker's secret never reaches the trainer
    assert.equal(written.job.protocol, 1);
    assert.equal(written.job.seed, 7);
    assert.equal(written.job.workDir, f.ctx.workDir);
    assert.ok(f.logs.some((l) => /stand-in starting ok secret=<none>/.test(l.msg)));
  } finally {
    f.cleanup();
  }
});

void test('a non-JSON stdout line is a non-retryable protocol error naming the line', async () => {
  const f = fakeCtx('garbage');
  try {
    const t0 = Date.now();
    const e = await rejection(run(f));
    assert.equal(e.type, ErrorType.TrainerProtocol);
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /not JSON: "Loading checkpoint shards: 100%"/);
    assert.ok(Date.now() - t0 < 10_000, 'the broken trainer is stopped, not waited for');
  } finally {
    f.cleanup();
  }
});

void test('an error line becomes a ClgrpoError of that type, retryable per the catalogue', async () => {
  const f = fakeCtx('error');
  try {
    const e = await rejection(run(f));
    assert.equal(e.type, ErrorType.Divergence);
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /loss is nan at step 3/);
  } finally {
    f.cleanup();
  }
});

void test('a killed trainer and an exit without a result are retryable TrainerCrashed with the stderr tail', async () => {
  for (const mode of ['crash', 'no-result']) {
    const f = fakeCtx(mode);
    try {
      const e = await rejection(run(f));
      assert.equal(e.type, ErrorType.TrainerCrashed, mode);
      assert.equal(e.nonRetryable, false);
      assert.match(e.message, mode === 'crash' ? /killed by SIGKILL[\s\S]*Killed/ : /exited 0 without a result line/);
      assert.ok(!e.message.includes(SECRET));
    } finally {
      f.cleanup();
    }
  }
});

void test('cancellation: SIGTERM, the trainer exits at its step boundary → Cancelled', async () => {
  const ac = new AbortController();
  const f = fakeCtx('hang', ac.signal);
  try {
    const p = run(f);
    while (!f.beats.length) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ac.abort();
    const e = await rejection(p);
    assert.equal(e.type, ErrorType.Cancelled);
    assert.match(e.message, /exit 143/);
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    f.cleanup();
  }
});

void test('cancellation: a trainer that ignores SIGTERM is SIGKILLed after the grace period', async () => {
  const ac = new AbortController();
  const f = fakeCtx('stubborn', ac.signal);
  try {
    const p = run(f, 500);
    while (!f.beats.length) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ac.abort();
    const e = await rejection(p);
    const waited = Date.now() - t0;
    assert.equal(e.type, ErrorType.Cancelled);
    assert.match(e.message, /SIGKILL/);
    assert.ok(waited >= 450 && waited < 5000, `waited ${waited} ms`);
  } finally {
    f.cleanup();
  }
});

void test('the trainer env passes only allow-listed worker variables, plus the offline flags', () => {
  const env = trainerEnv({ PATH: '/bin', TEACHER_KEY: SECRET, CUDA_VISIBLE_DEVICES: '0', AWS_SECRET_ACCESS_KEY: 'x' });
  assert.equal(env.PATH, '/bin');
  assert.equal(env.CUDA_VISIBLE_DEVICES, '0');
  assert.equal(env.TEACHER_KEY, undefined);
  assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
  assert.equal(env.HF_HUB_OFFLINE, '1');
  assert.equal(env.TRANSFORMERS_OFFLINE, '1');
});
