// The cot stage end to end outside Temporal, on a real synthetic dataset: the attributes teacher's
// keep rate (exactly the share of un-noised labels), the artifact files, heartbeats, the memo that
// makes a rerun ask nothing, rationalization, fail-fast on 401, cancellation, and the API key
// absent from every file, log line, heartbeat and the stage output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { createCotStage } from '../../activities/cot';
import type { JsonObject } from '../../lib/canonical';
import { FakeOpenAiServer } from '../helpers/fake-openai-server';
import { makeCotContext } from '../helpers/cot-child';
import type { Captured } from '../helpers/cot-child';

const KEY = 'sk-live-cot-stage-SECRET-42';
let root: string;
let dsDir: string;
let server: FakeOpenAiServer;
const stage = createCotStage({ retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 40 }, random: () => 0.5, batchSize: 16 });

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cot-stage-'));
  dsDir = path.join(root, 'dataset');
  fs.mkdirSync(dsDir);
  writeSyntheticDataset(dsDir, { seed: 11, train: 160, val: 0, test: 0 });
  const rows = openDataset(dsDir).samples('train');
  server = await new FakeOpenAiServer({ apiKey: KEY, attributes: new Map(rows.map((r) => [r.imageSha256, r.attributes])) }).start();
});
after(async () => {
  await server.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

let n = 0;
function dirs(workDir?: string) {
  const d = path.join(root, `run${n++}`);
  const out = path.join(d, 'out');
  fs.mkdirSync(out, { recursive: true });
  return { outDir: out, workDir: workDir ?? path.join(d, 'work') };
}

const openai = (extra: JsonObject = {}): JsonObject => ({ type: 'openai', id: 'vlm', model: 'fake-vl', baseUrl: server.baseUrl, apiKeyEnv: 'TEACHER_KEY', temperature: 0.2, maxTokens: 64, concurrency: 4, timeoutMs: 2000, ...extra });
const params = (teachers: JsonObject[], extra: JsonObject = {}): JsonObject => ({ teachers, samplesPerTeacher: 1, policy: 'first', keep: 'verified', rationalize: false, ...extra });
const readLines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

test('attributes teacher: keep rate is exactly the share of un-noised labels, reported per class', async () => {
  const d = dirs();
  const cap: Captured = { heartbeats: [], logs: [] };
  const out = await stage(makeCotContext({ datasetDir: dsDir, ...d, params: params([{ type: 'attributes' }]), env: {} }, cap));
  const rows = openDataset(dsDir).samples('train');
  const clean = rows.filter((r) => !r.noisy).length;
  assert.equal(out.kind, 'cot-dataset');
  assert.equal(out.metrics.kept, clean);
  assert.ok(out.metrics.keepRate > 0.7 && out.metrics.keepRate < 1, `keep rate ${out.metrics.keepRate} at the default label noise`);
  const report = JSON.parse(fs.readFileSync(path.join(d.outDir, 'report.json'), 'utf8'));
  for (const [label, c] of Object.entries(report.perClass) as Array<[string, { asked: number; kept: number }]>) {
    assert.equal(c.asked, rows.filter((r) => r.label === label).length, label);
    assert.equal(c.kept, rows.filter((r) => r.label === label && !r.noisy).length, label);
  }
  const cot = readLines(path.join(d.outDir, 'cot.jsonl'));
  assert.equal(cot.length, clean);
  for (const c of cot) {
    assert.equal(c.answer, c.label);
    assert.equal(c.completion, `<think>${c.think}</think><answer>${c.label}</answer>`);
    assert.equal(rows[c.index as number].label, c.label);
  }
  assert.equal(readLines(path.join(d.outDir, 'replies.jsonl')).length, rows.length);
  const steps = [...new Set(cap.heartbeats.filter((h) => h.phase === 'asking teachers').map((h) => h.step))];
  assert.deepEqual(steps, [0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160]);
  assert.ok(cap.heartbeats.every((h) => h.total === 160));
  assert.equal(typeof cap.heartbeats.at(-2)?.metrics?.keepRate, 'number');
});

test('two teachers and the loopback endpoint: replies recorded, memo makes a rerun ask nothing, no key anywhere', async () => {
  server.resetCounts();
  server.faultFor = (c) => (c.nth === 1 && c.imageKey.startsWith('0') ? { kind: 'malformed' } : c.nth === 1 && c.imageKey.startsWith('1') ? { kind: '429', retryAfter: '0' } : undefined);
  const workDir = path.join(root, 'shared-work');
  const p = params([{ type: 'attributes', noise: 0.2 }, openai()], { samplesPerTeacher: 2, policy: 'majority', limit: 64 });
  const cap: Captured = { heartbeats: [], logs: [] };
  const first = await stage(makeCotContext({ datasetDir: dsDir, ...dirs(workDir), params: p, env: { TEACHER_KEY: KEY } }, cap));
  const asked = server.totalCalls;
  assert.ok(asked >= 128, `two tries each for 64 samples (+ 429 retries), got ${asked}`);
  const d2 = dirs(workDir);
  const second = await stage(makeCotContext({ datasetDir: dsDir, ...d2, params: p, env: { TEACHER_KEY: KEY } }, cap));
  assert.equal(server.totalCalls, asked, 'the rerun asked the endpoint nothing');
  assert.equal(second.metrics.newAsks, 0);
  assert.deepEqual(second.metrics, { ...first.metrics, newAsks: 0 });
  const report = JSON.parse(fs.readFileSync(path.join(d2.outDir, 'report.json'), 'utf8'));
  assert.equal(report.perTeacher.vlm.asked, 128);
  assert.ok(report.perTeacher.vlm.malformed > 0 && report.malformed === report.perTeacher.vlm.malformed);
  assert.equal(report.agreement.pairs[0].a, 'attributes');
  assert.ok(report.agreement.pairs[0].total > 0);
  // The key: not in any file the stage wrote (artifact or memo), nor logs, heartbeats, output.
  const files = [...fs.readdirSync(d2.outDir).map((f) => path.join(d2.outDir, f)), ...fs.readdirSync(workDir).map((f) => path.join(workDir, f))];
  for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(KEY), f);
  assert.ok(!JSON.stringify([cap, first, second]).includes(KEY));
  assert.match(JSON.stringify(first.lineage), /TEACHER_KEY/);
});

test('rationalize: samples the endpoint gets wrong are asked again with the label as hint; the hint is stripped', async () => {
  server.resetCounts();
  server.faultFor = () => undefined;
  const d = dirs();
  const out = await stage(makeCotContext({ datasetDir: dsDir, ...d, params: params([openai()], { rationalize: true, limit: 80 }), env: { TEACHER_KEY: KEY } }, { heartbeats: [], logs: [] }));
  const rows = openDataset(dsDir).samples('train').slice(0, 80);
  const noisy = rows.filter((r) => r.noisy).length;
  assert.ok(noisy > 0);
  assert.equal(server.log.filter((c) => c.hint !== undefined).length, noisy, 'one hinted ask per unsolved sample');
  assert.equal(out.metrics.kept, 80);
  const cot = readLines(path.join(d.outDir, 'cot.jsonl'));
  const rationalized = cot.filter((c) => c.pass === 'rationalize');
  assert.equal(rationalized.length, noisy);
  for (const c of rationalized) assert.doesNotMatch(String(c.think), /given|hint/i);
});

test('401 stops the stage at once with a non-retryable TeacherAuth error that names the variable, not the key', async () => {
  server.resetCounts();
  const d = dirs();
  await assert.rejects(stage(makeCotContext({ datasetDir: dsDir, ...d, params: params([openai()], { limit: 40 }), env: { TEACHER_KEY: 'sk-revoked-key-000111' } }, { heartbeats: [], logs: [] })),
    (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.TeacherAuth && e.nonRetryable && !e.message.includes('sk-revoked-key-000111'));
  assert.ok(server.authFailures <= 4, `at most one wave of concurrent asks (${server.authFailures})`);
});

test('cancelling mid-stage stops it with a Cancelled error and keeps the finished replies in the memo', async () => {
  server.resetCounts();
  server.faultFor = (c) => (server.totalCalls > 20 ? { kind: 'hang' } : undefined);
  const d = dirs();
  const ac = new AbortController();
  const pending = stage(makeCotContext({ datasetDir: dsDir, ...d, params: params([openai({ timeoutMs: 30_000 })], { limit: 64 }), env: { TEACHER_KEY: KEY } }, { heartbeats: [], logs: [] }, ac.signal));
  // Cancel once asks have started to hang (the 21st request), i.e. mid-stage.
  while (server.totalCalls <= 20) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  ac.abort(new Error('cancel requested'));
  await assert.rejects(pending, (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.Cancelled);
  assert.ok(Date.now() - t0 < 2000, 'in-flight requests are aborted, not waited for');
  const memoLines = fs.readFileSync(path.join(d.workDir, 'teacher-memo.jsonl'), 'utf8').split('\n').filter(Boolean).length;
  // With 4 in flight, the 21st request starts only after 17 asks finished; the hung ones are not kept.
  assert.ok(memoLines >= 17 && memoLines <= 20, `finished asks kept: ${memoLines}`);
  server.faultFor = () => undefined;
});

test('a slow endpoint still heartbeats between batches (keep-alive), with the latest progress', async () => {
  server.resetCounts();
  server.faultFor = () => undefined;
  const slow = await new FakeOpenAiServer({ apiKey: KEY, attributes: new Map(openDataset(dsDir).samples('train').map((r) => [r.imageSha256, r.attributes])), latencyMs: 60 }).start();
  try {
    const cap: Captured = { heartbeats: [], logs: [] };
    const slowStage = createCotStage({ batchSize: 4, keepAliveMs: 40 });
    await slowStage(makeCotContext({ datasetDir: dsDir, ...dirs(), params: params([openai({ baseUrl: slow.baseUrl, concurrency: 1 })], { limit: 8 }), env: { TEACHER_KEY: KEY } }, cap));
    const asking = cap.heartbeats.filter((h) => h.phase === 'asking teachers');
    // 2 batches of 4 asks at ≥ 60 ms each: ~480 ms, so ≥ 6 keep-alives besides the 3 progress beats.
    assert.ok(asking.length >= 9, `${asking.length} heartbeats`);
    assert.ok(asking.every((h, i) => i === 0 || h.step >= asking[i - 1].step), 'progress never goes back');
    assert.ok(asking.some((h) => h.step === 4) && asking.at(-1)?.step === 8);
  } finally {
    await slow.stop();
  }
});
