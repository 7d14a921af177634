// Imported data is part of the key (issue 11, item 2), on a real dev server with a real worker and
// the real dataset importer: the worker fingerprints the folder before the reuse decision; one
// changed image re-runs the import and its dependents only; restoring it makes everything reusable
// again; lineage records the fingerprint; `plan`'s decider says "data (1 file)".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createActivities } from '../../activities';
import { loadSpecText } from '../../lib/spec';
import { compilePlan, type Plan } from '../../lib/plan';
import { ArtifactStore } from '../../lib/store';
import { decideWith } from '../../lib/store/decide';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';
import type { PipelineResult } from '../../workflows/pipeline';
import { quietLog, startTestServer, tinyStage, uniqueQueue, type TestServer } from '../helpers/temporal';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.stop(); });

async function png(file: string, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(file);
}

const SPEC = `schemaVersion: 1
name: data-key
seed: 3
stages:
  imp: { kind: dataset, params: { source: folder, root: imgs, train: 2, val: 1, test: 1, imageSize: 8 } }
  syn: { kind: dataset, params: { source: synthetic, train: 8, val: 2, test: 2, imageSize: 8 } }
  base_imp: { kind: pretrain, needs: [imp] }
  base_syn: { kind: pretrain, needs: [syn] }
`;

test('a changed image re-runs only the import and its dependents; restoring it reuses everything', async () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'clgrpo-data-'));
  for (const label of ['happy', 'sad']) mkdirSync(join(dataRoot, 'imgs', label), { recursive: true });
  await png(join(dataRoot, 'imgs', 'happy', 'a.png'), [250, 200, 10]);
  await png(join(dataRoot, 'imgs', 'happy', 'b.png'), [240, 190, 20]);
  await png(join(dataRoot, 'imgs', 'sad', 'a.png'), [10, 20, 200]);
  await png(join(dataRoot, 'imgs', 'sad', 'b.png'), [20, 30, 190]);
  const loaded = loadSpecText(SPEC, 'data-key.yaml');
  assert.ok('spec' in loaded, JSON.stringify(loaded));
  const compiled = compilePlan(loaded.spec);
  assert.ok('plan' in compiled);
  const plan: Plan = compiled.plan;
  assert.deepEqual(plan.stages.filter((x) => x.readsData).map((x) => x.id), ['imp']);

  const q = uniqueQueue('datakey');
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-store-')));
  const env = { CLGRPO_DATA_ROOT: dataRoot };
  const activities = createActivities({ store, log: quietLog, env, stages: { pretrain: tinyStage() }, isolation: 'inline' });
  const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: ['cpu'], workflowQueue: q, concurrency: 4, shutdownGraceMs: 2000 });
  const h = runWorkers(workers);
  let n = 0;
  const runOnce = async (): Promise<Record<string, { reused?: boolean; key?: string; data?: { fingerprint: string; files: number; hashed: number }; artifactId?: string }>> => {
    const wf = await startPipeline(s.client, { ...plan, stages: plan.stages.map((x) => ({ ...x, queue: 'cpu' })) }, { workflowId: `datakey-${q}-${n++}`, taskQueue: q, searchAttributes: false });
    const res = (await wf.result()) as PipelineResult;
    assert.equal(res.status.state, 'succeeded', JSON.stringify(res.status));
    return Object.fromEntries(res.status.stages.map((x) => [x.id, x]));
  };
  try {
    const r1 = await runOnce();
    assert.ok(Object.values(r1).every((x) => !x.reused), 'first run computes everything');
    assert.equal(r1.imp.data?.files, 4);
    assert.ok(r1.imp.key && r1.imp.key !== plan.stages[0].key, 'the import runs under a key that covers its data');
    const m = store.readManifest(r1.imp.artifactId as string);
    assert.equal(m.producer.stageKey, r1.imp.key);
    assert.equal((m.lineage as { data: { fingerprint: string } }).data.fingerprint, r1.imp.data?.fingerprint);
    assert.equal((m.lineage as { planKey: string }).planKey, plan.stages[0].key);
    assert.match((m.lineage as { codeIdentity: { hash: string } }).codeIdentity.hash, /^[0-9a-f]{64}$/);

    const r2 = await runOnce();
    assert.ok(Object.values(r2).every((x) => x.reused), 'same data: everything reused');
    assert.equal(r2.imp.data?.hashed, 0, 'warm: the stat cache answers, nothing is re-read');

    const file = join(dataRoot, 'imgs', 'sad', 'b.png');
    const original = readFileSync(file);
    await png(file, [90, 30, 190]);
    const why = decideWith(store, undefined, env);
    const decisions = plan.stages.map((x) => ({ id: x.id, ...why(x) as { action: string; reason: string } }));
    assert.equal(decisions[0].action, 'run');
    assert.match(decisions[0].reason, /^data changed \(1 file\) since run /);
    assert.match(decisions[2].reason, /^data upstream changed since run /);
    assert.deepEqual(decisions.map((d) => d.action), ['run', 'reuse', 'run', 'reuse']);

    const r3 = await runOnce();
    assert.deepEqual(Object.fromEntries(Object.entries(r3).map(([id, x]) => [id, Boolean(x.reused)])),
      { imp: false, syn: true, base_imp: false, base_syn: true });
    assert.notEqual(r3.imp.data?.fingerprint, r1.imp.data?.fingerprint);
    // `plan` above hashed the one changed file into the stat cache this worker shares (same home).
    assert.equal(r3.imp.data?.hashed, 0);

    writeFileSync(file, original);
    const r4 = await runOnce();
    assert.ok(Object.values(r4).every((x) => x.reused), 'restored data: everything reusable again');
    assert.equal(r4.imp.artifactId, r1.imp.artifactId);
    assert.equal(r4.base_imp.artifactId, r1.base_imp.artifactId);
  } finally {
    h.shutdown();
    await h.done;
  }
});
