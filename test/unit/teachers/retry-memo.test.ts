// Retry timing, secret redaction and the per-sample memo (keys, reopen, torn last line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backoffDelayMs, parseRetryAfter, publicUrl, redact, retryDelayMs, isTransientStatus } from '../../../lib/teachers/retry';
import { MEMO_FILE, TeacherMemo, memoKey } from '../../../lib/teachers/memo';

const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, retryAfterCapMs: 5000 };

test('backoff grows exponentially, is capped, and jitters within [cap/2, cap)', () => {
  assert.equal(backoffDelayMs(0, policy, 0), 50);
  assert.equal(backoffDelayMs(0, policy, 0.999), 100);
  assert.equal(backoffDelayMs(2, policy, 0), 200);
  assert.equal(backoffDelayMs(10, policy, 0), 500);
  assert.ok(backoffDelayMs(10, policy, 0.99) <= 1000);
});

test('Retry-After: seconds, HTTP date, garbage; capped when used', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('0.5', now), 500);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(retryDelayMs(0, 3000, policy, 0), 3000);
  assert.equal(retryDelayMs(0, 3_600_000, policy, 0), 5000);
  assert.equal(retryDelayMs(1, null, policy, 0), 100);
});

test('transient statuses; redaction; credentials stripped from URLs', () => {
  for (const s of [429, 500, 502, 503, 504, 408]) assert.ok(isTransientStatus(s), String(s));
  for (const s of [400, 401, 403, 404, 422]) assert.ok(!isTransientStatus(s), String(s));
  assert.equal(redact('Bearer sk-secret-123 and sk-secret-123', ['sk-secret-123', undefined]), 'Bearer [REDACTED] and [REDACTED]');
  assert.equal(publicUrl('http://user:pw@host:8000/v1/?token=x'), 'http://host:8000/v1');
});

const parts = { identity: { type: 'openai', model: 'm', temperature: 0.2 }, promptHash: 'p', imageSha256: 'img', tryIndex: 0 };

test('the memo key changes with every part of the question', () => {
  const k = memoKey(parts);
  assert.equal(memoKey({ ...parts, identity: { temperature: 0.2, model: 'm', type: 'openai' } }), k, 'key order does not matter');
  for (const other of [
    { ...parts, identity: { ...parts.identity, model: 'm2' } },
    { ...parts, identity: { ...parts.identity, temperature: 0.7 } },
    { ...parts, promptHash: 'q' },
    { ...parts, imageSha256: 'img2' },
    { ...parts, tryIndex: 1 },
    { ...parts, hint: 'awe' },
  ]) assert.notEqual(memoKey(other), k);
});

test('the memo survives a reopen and a torn last line, and the next append stays parseable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memo-'));
  const m = TeacherMemo.open(dir);
  m.put({ key: 'a', teacher: 't', index: 0, text: 'one' });
  m.put({ key: 'b', teacher: 't', index: 1, text: 'two' });
  m.put({ key: 'a', teacher: 't', index: 0, text: 'ignored: already answered' });
  m.sync();
  m.close();
  // A crash in the middle of a write leaves half a line.
  fs.appendFileSync(path.join(dir, MEMO_FILE), '{"key":"c","teacher":"t","ind');
  const m2 = TeacherMemo.open(dir);
  assert.equal(m2.size, 2);
  assert.equal(m2.droppedLines, 1);
  assert.equal(m2.get('a')?.text, 'one');
  m2.put({ key: 'c', teacher: 't', index: 2, text: 'three' });
  m2.close();
  const m3 = TeacherMemo.open(dir);
  assert.equal(m3.size, 3);
  assert.equal(m3.droppedLines, 1, 'the torn fragment stays on its own line, ignored');
  m3.close();
  assert.equal(fs.readFileSync(path.join(dir, MEMO_FILE), 'utf8').split('\n').filter(Boolean).length, 4);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two writers on one memo (a hung attempt and its retry) lose no line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memo-'));
  const a = TeacherMemo.open(dir);
  const b = TeacherMemo.open(dir);
  for (let i = 0; i < 50; i++) {
    a.put({ key: `a${i}`, teacher: 't', index: i, text: 'x'.repeat(i) });
    b.put({ key: `b${i}`, teacher: 't', index: i, text: 'y'.repeat(i) });
  }
  a.close();
  b.close();
  const c = TeacherMemo.open(dir);
  assert.equal(c.size, 100);
  assert.equal(c.droppedLines, 0);
  c.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
