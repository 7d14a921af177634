// Staging leases (issue 11, item 3): a staging dir is protected by a lease its owner refreshes while
// the stage runs, so cleanStaging at another worker's start never deletes live work, however long
// the stage trains. Expired leases, dead owners on this host and staging of published keys do go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, type ManifestDraft } from '../../../lib/store';

const KEY = 'a'.repeat(64);
const HOUR = 3600_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function root(): string {
  return mkdtempSync(join(tmpdir(), 'clgrpo-lease-'));
}

function age(path: string, ms: number): void {
  const past = new Date(Date.now() - ms);
  utimesSync(path, past, past);
}

function lease(dir: string): { pid: number; host: string; stageKey?: string; beatAt: number; expiresAt: number } {
  return JSON.parse(readFileSync(`${dir}.lease`, 'utf8'));
}

function draft(stageKey: string): ManifestDraft {
  return {
    kind: 'dataset',
    producer: { runId: 'r1', workflowId: 'wf1', pipeline: 'p', stageId: 's', stageKind: 'dataset', stageKey, attempt: 1, workerIdentity: 'w@h' },
    inputs: [], specHash: 'c'.repeat(64), params: {}, seed: 7,
    codeVersion: { package: 'clgrpo-flow', version: '0.1.0', commit: 'x', dirty: false },
    metrics: {}, lineage: {}, createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/** A pid that certainly belonged to a process of this host and is now dead. */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid);
  return r.pid;
}

test('a staging dir with a fresh lease survives cleanStaging by another store, however old its mtime', () => {
  const home = root();
  const owner = new ArtifactStore(home);
  const dir = owner.createStaging('train', KEY);
  writeFileSync(join(dir, 'weights.bin'), 'x');
  age(dir, 3 * HOUR);
  age(join(dir, 'weights.bin'), 3 * HOUR);
  const other = new ArtifactStore(home); // a second `run`/worker starting on the same CLGRPO_HOME
  assert.equal(other.cleanStaging(HOUR), 0);
  assert.ok(existsSync(join(dir, 'weights.bin')), 'live work kept');
  const l = lease(dir);
  assert.equal(l.pid, process.pid);
  assert.equal(l.host, hostname());
  assert.equal(l.stageKey, KEY);
  assert.ok(l.expiresAt > Date.now());
  owner.discardStaging(dir);
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(`${dir}.lease`), false, 'discard removes the lease as well');
});

test('an expired lease goes, even when the dir itself is young', () => {
  const home = root();
  const dir = join(home, 'staging', `train--${'b'.repeat(16)}-1-abc`);
  new ArtifactStore(home);
  mkdirSync(dir);
  // Another host's owner that stopped beating five minutes ago.
  writeFileSync(`${dir}.lease`, JSON.stringify({ pid: 1, host: 'elsewhere', beatAt: Date.now() - 5 * 60_000, expiresAt: Date.now() - 2 * 60_000 }));
  const store = new ArtifactStore(home);
  assert.equal(store.cleanStaging(HOUR), 1);
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(`${dir}.lease`), false);
});

test('a lease of another host that is still fresh is kept; one whose owner died on this host goes at once', () => {
  const home = root();
  const store = new ArtifactStore(home);
  const far = join(home, 'staging', 'far-1-a');
  const dead = join(home, 'staging', 'dead-1-b');
  mkdirSync(far);
  mkdirSync(dead);
  const fresh = { beatAt: Date.now(), expiresAt: Date.now() + 60_000 };
  writeFileSync(`${far}.lease`, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, ...fresh }));
  writeFileSync(`${dead}.lease`, JSON.stringify({ pid: deadPid(), host: hostname(), ...fresh }));
  assert.equal(store.cleanStaging(HOUR), 1);
  assert.ok(existsSync(far), 'a pid on another host says nothing about liveness here');
  assert.equal(existsSync(dead), false);
});

test("the staging of an already published key goes, even under a fresh lease", () => {
  const home = root();
  const store = new ArtifactStore(home);
  const winner = store.createStaging('train', KEY);
  writeFileSync(join(winner, 'f'), 'a');
  const loser = store.createStaging('train', KEY); // a concurrent attempt still writing
  store.publish(winner, draft(KEY));
  assert.equal(existsSync(`${winner}.lease`), false, 'publish releases the lease');
  const other = new ArtifactStore(home);
  assert.equal(other.cleanStaging(HOUR), 1);
  assert.equal(existsSync(loser), false);
  assert.deepEqual(readdirSync(join(home, 'staging')), []);
});

test('legacy staging dirs without a lease are still judged by mtime', () => {
  const home = root();
  const store = new ArtifactStore(home);
  const old = join(home, 'staging', 'old-1-a');
  const young = join(home, 'staging', 'young-1-b');
  mkdirSync(old);
  mkdirSync(young);
  age(old, 2 * HOUR);
  assert.equal(store.cleanStaging(HOUR), 1);
  assert.equal(existsSync(old), false);
  assert.ok(existsSync(young));
});

test('the lease is refreshed while a (simulated) stage runs, and expires once its owner stops beating', async () => {
  const home = root();
  const owner = new ArtifactStore(home, { leaseTtlMs: 300, leaseBeatMs: 40 });
  const dir = owner.createStaging('train', KEY);
  const first = lease(dir);
  const other = new ArtifactStore(home, { leaseTtlMs: 300 });
  // The "stage" runs for several TTLs; a cleaner looks in the middle and at the end.
  for (let i = 0; i < 4; i++) {
    await sleep(250);
    age(dir, 2 * HOUR);
    assert.equal(other.cleanStaging(HOUR), 0, `cleaner pass ${i}`);
    assert.ok(existsSync(dir));
  }
  const later = lease(dir);
  assert.ok(later.beatAt > first.beatAt, 'beatAt moved on');
  assert.ok(later.expiresAt > Date.now(), 'not expired while beating');
  // The owner is frozen (no more beats): after the TTL the dir is fair game. Simulated by copying the
  // lease aside, releasing (stops the timer), and putting the last beat back.
  const last = readFileSync(`${dir}.lease`, 'utf8');
  owner.releaseStaging(dir);
  writeFileSync(`${dir}.lease`, last.replace(`"host":${JSON.stringify(hostname())}`, '"host":"frozen-host"'));
  assert.equal(other.cleanStaging(HOUR), 0, 'still within the TTL');
  await sleep(400);
  assert.equal(other.cleanStaging(HOUR), 1);
  assert.equal(existsSync(dir), false);
});

test('a beat stops by itself once the dir is gone (cleanStagingOf), leaving no orphan lease', async () => {
  const home = root();
  const owner = new ArtifactStore(home, { leaseTtlMs: 300, leaseBeatMs: 30 });
  const dir = owner.createStaging('train', KEY);
  assert.equal(owner.cleanStagingOf(KEY), 1);
  await sleep(120);
  assert.deepEqual(readdirSync(join(home, 'staging')), []);
});
