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
  assert.deepEqual(d[0], { action: 'reuse', reason: `artifact ${pub.id.slice(0, 12)} exists`, artifactId: pub.id });
  assert.deepEqual(d[1], { action: 'run', reason: 'params changed since run run-1' });
  assert.equal(d[2].action, 'resume');
  assert.deepEqual(d[3], { action: 'run', reason: 'no artifact for this key yet' });
});
