// The real dataset stage behind the real activity wrapper (createActivities + ArtifactStore) in
// Temporal's MockActivityEnvironment: heartbeats leave during a long generation, the artifact is
// published with its manifest and reused by stage key, and a cancel mid-generation stops the stage
// without publishing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createActivities, type StageRunResult } from '../../activities';
import type { StageActivityInput } from '../../activities/types';
import { ArtifactStore } from '../../lib/store';
import { openDataset } from '../../lib/ml/data/dataset';

const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function input(key: string, train: number): StageActivityInput {
  return {
    run: { runId: 'run-1', workflowId: 'wf-1', pipeline: 'p', specHash: 'h', seed: 3 },
    stage: { id: 'data', kind: 'dataset', key, seed: 3, params: { source: 'synthetic', train, val: 4, test: 4, imageSize: 16, noise: 0.15 } },
    inputs: [],
  };
}

function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-dsw-'));
  const store = new ArtifactStore(root);
  return { store, acts: createActivities({ store, log: quiet, env: {} }) };
}

void test('publishes the dataset with a manifest, heartbeats on the way, reuses it by key', async () => {
  const { store, acts } = setup();
  const env = new MockActivityEnvironment({ attempt: 1 });
  const beats: Array<{ step: number; total: number }> = [];
  env.on('heartbeat', (d: { step: number; total: number }) => beats.push(d));
  const res = (await env.run(acts.runDatasetStage, input(KEY_A, 3000))) as StageRunResult;
  assert.equal(res.kind, 'dataset');
  assert.equal(res.reused, false);
  assert.ok(beats.length >= 2, `heartbeats sent: ${beats.length}`);
  assert.equal(beats[0].total, 3008);
  const m = store.readManifest(res.artifactId) as any;
  assert.equal(m.kind, 'dataset');
  assert.equal(m.metrics.train, 3000);
  assert.equal(m.lineage.source, 'synthetic');
  const ds = openDataset(store.artifactDir(res.artifactId));
  assert.equal(ds.samples('train').length, 3000);
  const again = (await new MockActivityEnvironment({ attempt: 1 }).run(acts.runDatasetStage, input(KEY_A, 3000))) as StageRunResult;
  assert.equal(again.artifactId, res.artifactId);
  assert.equal(again.reused, true);
});

void test('a cancel mid-generation stops the stage and publishes nothing', async () => {
  const { store, acts } = setup();
  const env = new MockActivityEnvironment({ attempt: 1 });
  let cancelled = false;
  env.on('heartbeat', (d: { step: number }) => {
    if (d.step > 0 && !cancelled) { cancelled = true; env.cancel(); }
  });
  const t0 = Date.now();
  // Temporal's cancellation, rethrown as is: not turned into a (retryable) ApplicationFailure.
  await assert.rejects(env.run(acts.runDatasetStage, input(KEY_B, 200000)),
    (e: unknown) => e instanceof CancelledFailure && !(e instanceof ApplicationFailure) && e.message === 'CANCELLED');
  assert.ok(cancelled);
  assert.ok(Date.now() - t0 < 60000, 'stopped long before 200k samples');
  assert.equal(store.lookupKey(KEY_B), undefined);
  assert.deepEqual(store.listArtifacts(), []);
});
