// Artifact store: atomic publish, the stage-key index (first publisher wins), verify naming changed,
// missing and extra files, path confinement, staging cleanup, lineage rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, ancestry, confine, renderLineage, type ManifestDraft } from '../../../lib/store';
import { ClgrpoError, ErrorType } from '../../../lib/errors';

const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);

function draft(stageKey: string, stageId: string, inputs: ManifestDraft['inputs'] = []): ManifestDraft {
  return {
    kind: 'dataset',
    producer: { runId: 'r1', workflowId: 'wf1', pipeline: 'p', stageId, stageKind: 'dataset', stageKey, attempt: 1, workerIdentity: 'w@h' },
    inputs, specHash: 'c'.repeat(64), params: { train: 3 }, seed: 7,
    codeVersion: { package: 'clgrpo-flow', version: '0.1.0', commit: 'x', dirty: false },
    metrics: { samples: 3 }, lineage: {}, createdAt: '2026-01-01T00:00:00.000Z',
  };
}

function fresh(): ArtifactStore {
  return new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-store-')));
}

function stage(store: ArtifactStore, files: Record<string, string>): string {
  const dir = store.createStaging('t');
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

test('publish moves the staged dir into artifacts/<id>, indexes the key, verify passes', () => {
  const store = fresh();
  const dir = stage(store, { 'meta.json': '{}', 'sub/data.bin': 'abc' });
  const r = store.publish(dir, draft(KEY_A, 'data'));
  assert.equal(r.reused, false);
  assert.match(r.id, /^[0-9a-f]{64}$/);
  assert.equal(existsSync(dir), false);
  assert.deepEqual(r.manifest.files.map((f) => f.path), ['meta.json', 'sub/data.bin']);
  assert.equal(r.manifest.files[1].size, 3);
  assert.equal(store.lookupKey(KEY_A), r.id);
  assert.equal(store.lookupKey(KEY_B), undefined);
  assert.deepEqual(store.verify(r.id), { id: r.id, ok: true, changed: [], missing: [], extra: [], manifestChanged: false });
  assert.deepEqual(readdirSync(join(store.root, 'staging')), []);
});

test('a second publish of the same key returns the first artifact and drops its own copy', () => {
  const store = fresh();
  const first = store.publish(stage(store, { f: '1' }), draft(KEY_A, 'data'));
  const second = store.publish(stage(store, { f: '2' }), { ...draft(KEY_A, 'data'), createdAt: '2026-02-02T00:00:00.000Z' });
  assert.equal(second.reused, true);
  assert.equal(second.id, first.id);
  assert.deepEqual(store.listArtifacts(), [first.id]);
  assert.deepEqual(readdirSync(join(store.root, 'staging')), []);
});

test('verify names changed, missing and extra files and a tampered manifest', () => {
  const store = fresh();
  const { id } = store.publish(stage(store, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' }), draft(KEY_A, 'data'));
  const dir = store.artifactDir(id);
  writeFileSync(join(dir, 'a.txt'), 'A');
  rmSync(join(dir, 'b.txt'));
  writeFileSync(join(dir, 'new.txt'), 'x');
  const v = store.verify(id);
  assert.equal(v.ok, false);
  assert.deepEqual(v.changed, ['a.txt']);
  assert.deepEqual(v.missing, ['b.txt']);
  assert.deepEqual(v.extra, ['new.txt']);
  assert.equal(v.manifestChanged, false);
  const m = store.readManifest(id);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, seed: 8 }));
  assert.equal(store.verify(id).manifestChanged, true);
});

test('paths are confined to the root: .., absolute, NUL, URL and symlinks out are refused', () => {
  const store = fresh();
  const outside = mkdtempSync(join(tmpdir(), 'clgrpo-out-'));
  symlinkSync(outside, join(store.root, 'work', 'link'));
  for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a\0b', 'http://x/y', 'work/link/f', 'work/link']) {
    assert.throws(() => confine(store.root, bad), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.PathEscape, bad);
  }
  assert.equal(confine(store.root, 'work/ok/f'), join(store.root, 'work/ok/f'));
  assert.throws(() => store.artifactDir('../../etc'),
    (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.PathEscape && /artifact id '\.\.\/\.\.\/etc' is not a hex id/.test(e.message));
  assert.throws(() => store.workDir('A'.repeat(64)),
    (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.PathEscape && /stage key 'A{64}' is not a hex id/.test(e.message));
});

test('symlinks inside a staged artifact are refused at publish', () => {
  const store = fresh();
  const dir = stage(store, { f: '1' });
  symlinkSync('/etc/passwd', join(dir, 'leak'));
  assert.throws(() => store.publish(dir, draft(KEY_A, 'data')), (e: unknown) => e instanceof ClgrpoError && e.type === ErrorType.ArtifactCorrupt);
  assert.equal(store.lookupKey(KEY_A), undefined);
});

test('cleanStaging removes only stale staging dirs', () => {
  const store = fresh();
  const old = store.createStaging('old');
  const young = store.createStaging('young');
  store.releaseStaging(old); // its owner is gone: no lease, so its mtime decides (staging-lease.test.ts has the rest)
  const past = new Date(Date.now() - 2 * 3600_000);
  utimesSync(old, past, past);
  assert.equal(store.cleanStaging(3600_000), 1);
  assert.equal(existsSync(old), false);
  assert.equal(existsSync(young), true);
});

test('lineage follows manifest inputs and renders tree, mermaid and dot', () => {
  const store = fresh();
  const a = store.publish(stage(store, { f: 'a' }), draft(KEY_A, 'data'));
  const b = store.publish(stage(store, { g: 'b' }), { ...draft(KEY_B, 'base', [{ input: 'dataset', from: 'data', artifactId: a.id }]), kind: 'model' });
  const g = ancestry(store, [b.id]);
  assert.deepEqual(Object.keys(g.nodes).sort(), [a.id, b.id].sort());
  const tree = renderLineage(g, 'tree');
  assert.match(tree, new RegExp(`^base \\[model\\] ${b.id.slice(0, 12)}`));
  assert.match(tree, new RegExp(`└── dataset ← data \\[dataset\\] ${a.id.slice(0, 12)}`));
  assert.match(renderLineage(g, 'mermaid'), new RegExp(`a${a.id.slice(0, 12)} -->\\|dataset\\| a${b.id.slice(0, 12)}`));
  assert.match(renderLineage(g, 'dot'), /^digraph lineage/);
  assert.deepEqual(JSON.parse(renderLineage(g, 'json')).roots, [b.id]);
});
