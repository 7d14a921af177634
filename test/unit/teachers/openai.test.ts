// The openai teacher against a loopback OpenAI-compatible server: answers, retries with backoff
// and Retry-After on 429/503/timeouts/dropped connections, fail-fast on 401, a bounded number of
// tries, malformed replies surfaced as text the parser rejects, and the key never in an error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../../../lib/ml/data/build-synthetic';
import { encodePng, openDataset } from '../../../lib/ml/data/dataset';
import { LABELS } from '../../../lib/ml/data/synthetic-rules';
import { ClgrpoError, ErrorType } from '../../../lib/errors';
import { OpenAiTeacher } from '../../../lib/teachers/openai';
import { parseCompletion } from '../../../lib/teachers/parse';
import type { TeacherSample } from '../../../lib/teachers/types';
import { FakeOpenAiServer } from '../../helpers/fake-openai-server';

const KEY = 'sk-test-0123456789abcdef';
let dir: string;
let samples: TeacherSample[];
let server: FakeOpenAiServer;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openai-teacher-'));
  writeSyntheticDataset(dir, { seed: 3, train: 4, val: 0, test: 0 });
  const ds = openDataset(dir);
  samples = ds.samples('train').map((r) => ({ ...r, png: () => encodePng(ds.image('train', r.index), ds.meta.imageSize) }));
  server = await new FakeOpenAiServer({ apiKey: KEY, attributes: new Map(samples.map((s) => [s.imageSha256, s.attributes])) }).start();
});
after(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function teacher(over: Partial<ConstructorParameters<typeof OpenAiTeacher>[0]> = {}, env: Record<string, string> = { TEACHER_KEY: KEY }) {
  return new OpenAiTeacher({ model: 'fake-vl', baseUrl: server.baseUrl, apiKeyEnv: 'TEACHER_KEY', temperature: 0.2, maxTokens: 64, concurrency: 2, timeoutMs: 2000, ...over },
    { env, labels: LABELS, retry: { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 80, retryAfterCapMs: 2000 }, random: () => 0.5 });
}

function reset(fault: FakeOpenAiServer['faultFor'] = () => undefined): void {
  server.resetCounts();
  server.faultFor = fault;
}

test('answers from the image: the fake server recognises the sample, the reply parses to its rule label', async () => {
  reset();
  const t = teacher();
  const p = parseCompletion((await t.ask(samples[0], { tryIndex: 0 })).text);
  assert.ok(p.ok);
  assert.equal(server.calls.get(samples[0].imageSha256), 1);
  assert.deepEqual(Object.keys(t.identity).sort(), ['apiKeyEnv', 'baseUrl', 'id', 'maxTokens', 'model', 'promptHash', 'temperature', 'type']);
  assert.ok(!JSON.stringify(t.identity).includes(KEY));
});

test('429 with Retry-After is honoured, then the ask succeeds', async () => {
  reset((c) => (c.nth === 1 ? { kind: '429', retryAfter: '1' } : undefined));
  const t = teacher();
  const t0 = Date.now();
  const r = await t.ask(samples[1], { tryIndex: 0 });
  const waited = Date.now() - t0;
  assert.ok(parseCompletion(r.text).ok);
  assert.ok(waited >= 950, `waited ${waited} ms, Retry-After asked for 1000`);
  assert.equal(server.totalCalls, 2);
  assert.deepEqual(t.stats.byStatus, { 429: 1, 200: 1 });
});

test('503 and a dropped connection are retried with backoff', async () => {
  reset((c) => (c.nth === 1 ? { kind: '503' } : c.nth === 2 ? { kind: 'drop' } : undefined));
  const t = teacher();
  assert.ok(parseCompletion((await t.ask(samples[1], { tryIndex: 0 })).text).ok);
  assert.equal(server.totalCalls, 3);
  assert.equal(t.stats.retries, 2);
  assert.equal(t.stats.byStatus.connection, 1);
});

test('a hung request times out and is retried', async () => {
  reset((c) => (c.nth === 1 ? { kind: 'hang' } : undefined));
  const t = teacher({ timeoutMs: 300 });
  const t0 = Date.now();
  assert.ok(parseCompletion((await t.ask(samples[2], { tryIndex: 0 })).text).ok);
  assert.ok(Date.now() - t0 >= 300);
  assert.equal(t.stats.byStatus.timeout, 1);
});

test('persistent 503 ends in a retryable TeacherUnavailable after maxRetries + 1 tries', async () => {
  reset(() => ({ kind: '503' }));
  const t = teacher();
  await assert.rejects(t.ask(samples[0], { tryIndex: 0 }), (e: unknown) => {
    assert.ok(e instanceof ClgrpoError);
    assert.equal(e.type, ErrorType.TeacherUnavailable);
    assert.equal(e.nonRetryable, false);
    return true;
  });
  assert.equal(server.totalCalls, 4);
});

test('401 fails fast and non-retryably, and the key the server echoed is redacted', async () => {
  reset();
  const t = teacher({}, { TEACHER_KEY: 'sk-wrong-key-987654321' });
  await assert.rejects(t.ask(samples[0], { tryIndex: 0 }), (e: unknown) => {
    assert.ok(e instanceof ClgrpoError);
    assert.equal(e.type, ErrorType.TeacherAuth);
    assert.equal(e.nonRetryable, true);
    assert.ok(!e.message.includes('sk-wrong-key-987654321'), e.message);
    assert.match(e.message, /TEACHER_KEY/);
    return true;
  });
  assert.equal(server.authFailures, 1, 'asked once, never retried');
  reset((c) => (c.nth >= 1 ? { kind: '401' } : undefined));
  await assert.rejects(teacher().ask(samples[0], { tryIndex: 0 }), (e: ClgrpoError) => e.type === ErrorType.TeacherAuth && !e.message.includes(KEY));
  assert.equal(server.totalCalls, 1);
});

test('a missing key variable is a config error naming the variable, before any request', () => {
  reset();
  assert.throws(() => teacher({}, {}), (e: ClgrpoError) => e.type === ErrorType.Config && e.nonRetryable && /TEACHER_KEY/.test(e.message));
  assert.equal(server.totalCalls, 0);
});

test('a malformed reply is returned as text, not retried, and the parser rejects it', async () => {
  reset(() => ({ kind: 'malformed', text: 'Probably awe, I guess.' }));
  const r = await teacher().ask(samples[3], { tryIndex: 0 });
  assert.equal(parseCompletion(r.text).ok, false);
  assert.equal(server.totalCalls, 1);
});

test('the hint reaches the server in the rationalization prompt', async () => {
  reset();
  const p = parseCompletion((await teacher().ask(samples[0], { tryIndex: 0, hint: 'fear' })).text);
  assert.equal(server.log[0].hint, 'fear');
  assert.ok(p.ok && p.answer === 'fear');
});

test('cancelling aborts an in-flight ask with a Cancelled error', async () => {
  reset(() => ({ kind: 'hang' }));
  const ac = new AbortController();
  const pending = teacher({ timeoutMs: 10_000 }).ask(samples[0], { tryIndex: 0, signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 100);
  await assert.rejects(pending, (e: ClgrpoError) => e.type === ErrorType.Cancelled);
});
