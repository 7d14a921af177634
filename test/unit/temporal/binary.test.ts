// Temporal CLI resolution order: TEMPORAL_CLI_PATH, then PATH, then the project-local tools dir,
// then the SDK's download dir (both placed in temp dirs here); a bad TEMPORAL_CLI_PATH is an error,
// not a silent fallback. Also the free port pair helper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LOCAL_BINARY, PROJECT_ROOT, SDK_DOWNLOAD_DIR, findLocalTemporalBinary } from '../../../lib/temporal/binary';
import { freePortPair, portFree } from '../../../lib/temporal/dev-server';

function fakeBinary(dir: string, name = 'temporal'): string {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

test('resolution order and the source it names', () => {
  const a = mkdtempSync(join(tmpdir(), 'clgrpo-bin-a-'));
  const b = mkdtempSync(join(tmpdir(), 'clgrpo-bin-b-'));
  const c = mkdtempSync(join(tmpdir(), 'clgrpo-bin-c-'));
  const explicit = fakeBinary(a);
  const onPath = fakeBinary(b);
  writeFileSync(join(c, 'temporal'), 'not executable'); // on PATH but not executable: skipped
  // The project-local and SDK-download places in a temp dir, filled step by step, so what this
  // machine has installed does not decide the outcome.
  const places = mkdtempSync(join(tmpdir(), 'clgrpo-bin-places-'));
  const at = { local: join(places, 'temporal-bin', 'bin', 'temporal'), downloadDir: join(places, 'sdk-download') };
  const noPath = { PATH: `/nonexistent:${c}` };
  assert.equal(findLocalTemporalBinary(noPath, at), undefined, 'nothing anywhere');
  mkdirSync(join(at.downloadDir, 'v1.3.0'), { recursive: true });
  const downloaded = fakeBinary(join(at.downloadDir, 'v1.3.0'), 'temporal-cli-1.3.0');
  assert.deepEqual(findLocalTemporalBinary(noPath, at), { path: downloaded, source: 'sdk-download' });
  mkdirSync(dirname(at.local), { recursive: true });
  fakeBinary(dirname(at.local));
  assert.deepEqual(findLocalTemporalBinary(noPath, at), { path: at.local, source: 'project-local' });
  assert.deepEqual(findLocalTemporalBinary({ PATH: `/nonexistent:${c}:${b}` }, at), { path: onPath, source: 'PATH' });
  assert.deepEqual(findLocalTemporalBinary({ TEMPORAL_CLI_PATH: explicit, PATH: b }, at), { path: explicit, source: 'TEMPORAL_CLI_PATH' });
  assert.throws(() => findLocalTemporalBinary({ TEMPORAL_CLI_PATH: join(a, 'missing'), PATH: b }, at), (e: unknown) =>
    e instanceof Error && e.message === `TEMPORAL_CLI_PATH=${join(a, 'missing')} is not an executable file; fix it or unset it`);
  // Without `places`, the project's own .tools dirs are searched.
  assert.equal(LOCAL_BINARY, join(PROJECT_ROOT, '.tools', 'temporal-bin', 'bin', 'temporal'));
  assert.equal(SDK_DOWNLOAD_DIR, join(PROJECT_ROOT, '.tools', 'temporal-sdk-download'));
  assert.deepEqual(findLocalTemporalBinary(noPath), findLocalTemporalBinary(noPath, { local: LOCAL_BINARY, downloadDir: SDK_DOWNLOAD_DIR }));
});

test('freePortPair returns p with p and p+1000 free', async () => {
  const p = await freePortPair();
  assert.ok(p > 0 && p + 1000 < 65536);
  assert.ok(await portFree(p));
  assert.ok(await portFree(p + 1000));
});
