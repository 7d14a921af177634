import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointStore } from '../../../lib/ml/checkpoint';
import { ClgrpoError, ErrorType } from '../../../lib/errors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
const files = (step: number) => new Map([['a.bin', Buffer.from(`weights ${step}`)], ['state.json', Buffer.from(JSON.stringify({ step }))]]);

test('saves atomically with LATEST last, keeps the newest K, loads the newest', () => {
  const dir = tmp();
  const store = new CheckpointStore(dir, 2);
  assert.equal(store.loadLatest(), undefined);
  for (const s of [10, 20, 30]) assert.equal(store.save(s, files(s)), `step-000000${s}`);
  assert.deepEqual(store.list().map((c) => c.step), [30, 20]);
  assert.equal(fs.readFileSync(path.join(dir, 'LATEST'), 'utf8'), 'step-00000030');
  const c = store.loadLatest()!;
  assert.equal(c.step, 30);
  assert.equal(c.files.get('a.bin')!.toString(), 'weights 30');
  assert.deepEqual(c.skipped, []);
  // Temp leftovers of a crashed write are ignored and cleaned on the next save.
  fs.mkdirSync(path.join(dir, '.tmp-999-dead'));
  assert.equal(store.loadLatest()!.step, 30);
  store.save(40, files(40));
  assert.ok(!fs.existsSync(path.join(dir, '.tmp-999-dead')));
});

test('a flipped byte or a truncated file is detected and the previous checkpoint is used', () => {
  const dir = tmp();
  const store = new CheckpointStore(dir, 3);
  for (const s of [1, 2, 3]) store.save(s, files(s));
  const f = path.join(dir, 'step-00000003', 'a.bin');
  const b = fs.readFileSync(f);
  b[0] ^= 0x01;
  fs.writeFileSync(f, b);
  let c = store.loadLatest()!;
  assert.equal(c.step, 2);
  assert.match(c.skipped[0].reason, /a\.bin does not match its hash/);
  fs.truncateSync(path.join(dir, 'step-00000002', 'state.json'), 3);
  c = store.loadLatest()!;
  assert.equal(c.step, 1);
  assert.equal(c.skipped.length, 2);
});

test('a checkpoint newer than LATEST (crash before the pointer moved) is not used', () => {
  const dir = tmp();
  const store = new CheckpointStore(dir, 3);
  store.save(5, files(5));
  store.save(6, files(6));
  fs.writeFileSync(path.join(dir, 'LATEST'), 'step-00000005');
  assert.equal(store.loadLatest()!.step, 5);
  // The resumed run saves step 6 again, replacing the abandoned one; a stale step 9 is dropped.
  fs.mkdirSync(path.join(dir, 'step-00000009'));
  store.save(6, files(66));
  assert.equal(store.loadLatest()!.files.get('a.bin')!.toString(), 'weights 66');
  assert.deepEqual(store.list().map((c) => c.step), [6, 5]);
});

test('with no intact checkpoint left: non-retryable CheckpointCorrupt naming the file', () => {
  const dir = tmp();
  const store = new CheckpointStore(dir, 3);
  store.save(7, files(7));
  fs.writeFileSync(path.join(dir, 'step-00000007', 'state.json'), 'garbage');
  assert.throws(() => store.loadLatest(), (e: unknown) => {
    assert.ok(e instanceof ClgrpoError);
    assert.equal(e.type, ErrorType.CheckpointCorrupt);
    assert.ok(e.nonRetryable);
    assert.match(e.message, /step-00000007: state\.json/);
    return true;
  });
});
