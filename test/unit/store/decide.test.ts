// Store-backed plan decisions: reuse (published key), resume (work dir has files), run with the key
// component that changed since the last recorded run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, startRunRecord } from '../../../lib/store';
import { decideWith } from '../../../lib/store/decide';
import { makePlan } from '../../helpers/temporal';
import { hashJson } from '../../../lib/canonical';
import { codeIdentities } from '../../../lib/code/identity';
import { saveCodeIdentity } from '../../../lib/code/snapshots';
import { loadAndCompile } from '../../../lib/plan';
import { STAGE_KINDS } from '../../../lib/plan/types';

test('reuse, resume, and run naming the changed key component', async () => {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-decide-')));
  const old = makePlan('p', 'cpu', [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c' }]);
  startRunRecord(store, 'run-1', old, 'r1');
  const staged = store.createStaging('a');
  writeFileSync(join(staged, 'f'), 'x');
  const pub = store.publish(staged, {
    kind: 'dataset', producer: { runId: 'r1', workflowId: 'run-1', pipeline: 'p', stageId: 'a', stageKind: 'dataset', stageKey: old.stages[0].key, attempt: 1, workerIdentity: 'w' },
    inputs: [], specHash: old.specHash, params: {}, seed: 7, codeVersion: { package: 'x', version: '0', commit: 'c', dirty: false }, metrics: {}, lineage: {}, createdAt: 'now',
  });
  writeFileSync(join(store.workDir(old.stages[2].key), 'LATEST'), 'ckpt-1');
  const now = makePlan('p', 'cpu', [{ id: 'a' }, { id: 'b', needs: ['a'], params: { id: 'b', lr: 2 } }, { id: 'c' }, { id: 'd' }]);
  const decide = decideWith(store, 'p');
  const d = await Promise.all(now.stages.map((s) => decide(s)));
  assert.deepEqual(d[0], { action: 'reuse', reason: `artifact ${pub.id.slice(0, 12)} exists`, artifactId: pub.id, key: now.stages[0].key });
  assert.deepEqual(d[1], { action: 'run', reason: 'params changed since run run-1', key: now.stages[1].key });
  assert.equal(d[2].action, 'resume');
  assert.deepEqual(d[3], { action: 'run', reason: 'no artifact for this key yet', key: now.stages[3].key });
});

test('code changed: plan names the files that differ from the identity the last run\'s key was made with', () => {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-decide-code-')));
  const spec = join(__dirname, '..', '..', 'fixtures', 'specs', 'good', 'golden.yaml');
  const now = loadAndCompile(spec);
  const ids = codeIdentities(STAGE_KINDS);
  // The identity sft had "before a pull": one file's normalised hash differed.
  const before = { ...ids.sft, files: { ...ids.sft.files, 'lib/ml/optimizer.ts': '0'.repeat(64) } };
  before.hash = hashJson({ before: true });
  saveCodeIdentity(store.root, before);
  const old = { ...now, stages: now.stages.map((s) => (s.kind === 'sft' ? { ...s, key: hashJson({ old: s.id }), keyParts: { ...s.keyParts, code: before.hash } } : s)) };
  startRunRecord(store, 'run-old', old, 'r1');
  const decide = decideWith(store, 'demo');
  const reasons = Object.fromEntries(now.stages.map((s) => [s.id, (decide(s) as { reason: string }).reason]));
  assert.equal(reasons.sft, 'code changed (lib/ml/optimizer.ts) since run run-old');
  assert.equal(reasons.baseline, 'code changed (lib/ml/optimizer.ts) since run run-old');
  assert.equal(reasons.data, 'same key as run run-old, which did not publish it');
  // An identity not kept in this store: the entry and how many files it reaches.
  const other = { ...old, stages: old.stages.map((s) => (s.kind === 'sft' ? { ...s, keyParts: { ...s.keyParts, code: hashJson({ unknown: 1 }) } } : s)) };
  const store2 = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-decide-code2-')));
  startRunRecord(store2, 'run-old', other, 'r1');
  const decide2 = decideWith(store2, 'demo'); // stages are decided in plan order, as `plan` does
  const r = now.stages.map((s) => decide2(s) as { reason: string })[now.stages.findIndex((s) => s.id === 'sft')];
  assert.match(r.reason, /^code changed \(activities\/sft\.ts and the \d+ files it reaches\) since run run-old$/);
});
