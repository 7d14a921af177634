// Data fingerprints: content, not names or times; a stat cache so only changed files are re-read;
// a missing file counts; file lists kept so `plan` can count changed files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedFileCount, fingerprintFiles } from '../../../lib/store/fingerprint';

void test('the stat cache re-hashes only changed files; content decides, mtime alone does not', () => {
  const root = mkdtempSync(join(tmpdir(), 'clgrpo-fp-'));
  const home = mkdtempSync(join(tmpdir(), 'clgrpo-home-'));
  try {
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.bin`);
    for (const n of names) writeFileSync(join(root, n), `content of ${n}`);
    const a = fingerprintFiles(root, names, { home });
    assert.equal(a.hashed, 20);
    assert.equal(a.files, 20);
    const b = fingerprintFiles(root, names, { home });
    assert.equal(b.hashed, 0);
    assert.equal(b.fingerprint, a.fingerprint);
    utimesSync(join(root, 'f3.bin'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const c = fingerprintFiles(root, names, { home });
    assert.equal(c.hashed, 1, 'touched: re-hashed');
    assert.equal(c.fingerprint, a.fingerprint, 'same bytes, same fingerprint');
    writeFileSync(join(root, 'f7.bin'), 'changed');
    const d = fingerprintFiles(root, names, { home });
    assert.notEqual(d.fingerprint, a.fingerprint);
    assert.equal(changedFileCount(home, a.fingerprint, d.fingerprint), 1);
    rmSync(join(root, 'f9.bin'));
    const e = fingerprintFiles(root, names, { home });
    assert.notEqual(e.fingerprint, d.fingerprint, 'a vanished file changes the fingerprint');
    assert.equal(changedFileCount(home, a.fingerprint, e.fingerprint), 2);
    assert.notEqual(fingerprintFiles(root, names.slice(0, 19), { home }).fingerprint, e.fingerprint, 'the list of files counts too');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
});
