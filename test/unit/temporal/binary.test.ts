// Temporal CLI resolution order: TEMPORAL_CLI_PATH, then PATH, then the project-local tools dir;
// a bad TEMPORAL_CLI_PATH is an error, not a silent fallback. Also the free port pair helper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_BINARY, findLocalTemporalBinary } from '../../../lib/temporal/binary';
import { freePortPair, portFree } from '../../../lib/temporal/dev-server';

function fakeBinary(dir: string): string {
  const p = join(dir, 'temporal');
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

test('resolution order and the source it names', () => {
  const a = mkdtempSync(join(tmpdir(), 'clgrpo-bin-a-'));
  const b = mkdtempSync(join(tmpdir(), 'clgrpo-bin-b-'));
  const explicit = fakeBinary(a);
  const onPath = fakeBinary(b);
  assert.deepEqual(findLocalTemporalBinary({ TEMPORAL_CLI_PATH: explicit, PATH: b }), { path: explicit, source: 'TEMPORAL_CLI_PATH' });
  assert.deepEqual(findLocalTemporalBinary({ PATH: `/nonexistent:${b}` }), { path: onPath, source: 'PATH' });
  const none = findLocalTemporalBinary({ PATH: '/nonexistent' });
  if (existsSync(LOCAL_BINARY)) assert.deepEqual(none, { path: LOCAL_BINARY, source: 'project-local' });
  assert.throws(() => findLocalTemporalBinary({ TEMPORAL_CLI_PATH: join(a, 'missing') }), /TEMPORAL_CLI_PATH=.*not an executable/);
});

test('freePortPair returns p with p and p+1000 free', async () => {
  const p = await freePortPair();
  assert.ok(p > 0 && p + 1000 < 65536);
  assert.ok(await portFree(p));
  assert.ok(await portFree(p + 1000));
});
