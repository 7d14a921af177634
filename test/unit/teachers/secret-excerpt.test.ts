// Secrets in shortened text (issue 11, item 6): an error excerpt is redacted before it is cut, so a
// key that straddles the cut leaves no half behind; secrets inside JSON text (failure details,
// lineage) are redacted in their escaped form too. A part of a key is a leak: no 6-char piece of it
// may survive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClgrpoError, ErrorType } from '../../../lib/errors';
import { OpenAiTeacher } from '../../../lib/teachers/openai';
import type { TeacherSample } from '../../../lib/teachers/types';
import { redactSecrets, toApplicationFailure } from '../../../activities/failures';

const KEY = 'sk-QZXJ7wqv9PLmT3rYk2Vb8nHd';
const CUT = 200; // the excerpt length openai.ts keeps of an error body

/** Every piece of `secret` of at least `min` chars found in `text`. */
function leaks(text: string, secret: string, min = 6): string[] {
  const found: string[] = [];
  for (let i = 0; i + min <= secret.length; i++) {
    const piece = secret.slice(i, i + min);
    if (text.includes(piece)) found.push(piece);
  }
  return found;
}

let server: Server;
let baseUrl: string;
let reply: { status: number; body: string } = { status: 400, body: '' };

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const sample: TeacherSample = {
  index: 0, imageSha256: '0'.repeat(64), attributes: {}, png: async () => new Uint8Array([137, 80, 78, 71]),
} as unknown as TeacherSample;

async function errorFor(status: number, body: string): Promise<ClgrpoError> {
  reply = { status, body };
  const t = new OpenAiTeacher(
    { model: 'm', baseUrl, apiKeyEnv: 'TEACHER_KEY', temperature: 0, maxTokens: 8, concurrency: 1, timeoutMs: 2000 } as ConstructorParameters<typeof OpenAiTeacher>[0],
    { env: { TEACHER_KEY: KEY }, labels: ['a', 'b'], retry: { maxRetries: 0 } });
  try {
    await t.ask(sample, { tryIndex: 0 });
  } catch (err) {
    assert.ok(err instanceof ClgrpoError, String(err));
    return err;
  }
  assert.fail('the ask should have failed');
}

for (const status of [400, 401]) {
  for (const at of [0, 150, CUT - 20, CUT - 10, CUT - 6, CUT - 5, CUT - 1, CUT, CUT + 1, 'end'] as const) {
    test(`HTTP ${status}: a key echoed at offset ${at} of the error body leaves no piece in the message`, async () => {
      const start = at === 'end' ? 400 - KEY.length : at;
      const body = `${'.'.repeat(start)}${KEY}${'.'.repeat(at === 'end' ? 0 : 100)}`;
      const err = await errorFor(status, body);
      assert.equal(err.type, status === 401 ? ErrorType.TeacherAuth : ErrorType.Config);
      const text = `${err.message}\n${JSON.stringify(err.details)}`;
      assert.deepEqual(leaks(text, KEY), [], text);
      // The excerpt is still there (the cut happens, and the redaction mark shows where the key was
      // when it lies inside it).
      assert.match(err.message, /\.{10}/);
      if (start + KEY.length <= CUT) assert.match(err.message, /\[REDACTED\]/);
    });
  }
}

test('redactSecrets also removes a secret in its JSON-escaped form, so JSON text round-trips clean', () => {
  const value = 'pa"ss\\word-0123456789';
  const env = { DB_PASSWORD: value };
  const json = JSON.stringify({ error: `login failed for ${value}` });
  const clean = redactSecrets(json, env);
  assert.deepEqual(leaks(JSON.parse(clean).error, value), []);
  assert.match(JSON.parse(clean).error, /\[redacted:DB_PASSWORD\]/);
  const f = toApplicationFailure(new ClgrpoError(ErrorType.Config, 'bad login', { details: { body: `x ${value} y` } }), env, 'stage s');
  assert.deepEqual(leaks(JSON.stringify(f.details), value), []);
  assert.deepEqual(leaks(JSON.stringify(f.details).replace(/\\\\/g, '\\').replace(/\\"/g, '"'), value), []);
});
