// FAULTS.md 10 on the real runtime: a dataset → cot pipeline runs on a Temporal dev server with a
// real worker whose environment holds the teacher key, against the loopback endpoint (with 429s
// on the way). The key must not appear in the fetched workflow history (payloads decoded), in the
// published artifacts, manifests, lineage or the stage's work dir. A second run with a rejected
// key fails the stage with a non-retryable TeacherAuthError whose history holds no key either.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import { createCotStage } from '../../activities/cot';
import type { StageImplementation } from '../../activities/types';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { ArtifactStore } from '../../lib/store';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';
import type { PipelineResult } from '../../workflows/pipeline';
import { FakeOpenAiServer } from '../helpers/fake-openai-server';
import { makePlan, quietLog, startTestServer, uniqueQueue, type TestServer } from '../helpers/temporal';

const KEY = 'sk-history-check-SECRET-7f3a9c';
const WRONG = 'sk-rejected-SECRET-0b1c2d3e';
let s: TestServer;
let server: FakeOpenAiServer;
const attributes = new Map<string, Record<string, unknown>>();

before(async () => {
  s = await startTestServer();
  // The fake server learns the samples' attributes as the dataset stage writes them.
  server = await new FakeOpenAiServer({ apiKey: KEY, attributes }).start();
});
after(async () => {
  await server?.stop();
  await s?.stop();
});

const datasetStage: StageImplementation = async (ctx) => {
  writeSyntheticDataset(ctx.outDir, { seed: 2, train: 24, val: 0, test: 0 });
  for (const l of fs.readFileSync(path.join(ctx.outDir, 'samples-train.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(l) as { imageSha256: string; attributes: Record<string, unknown> };
    attributes.set(r.imageSha256, r.attributes);
  }
  return { kind: 'dataset', metrics: { train: 24 } };
};

/** Every string in the history, with binary payloads decoded as UTF-8 (and as base64, to be safe). */
function historyText(history: unknown): string {
  return JSON.stringify(history, (k, v: unknown) => {
    // Payload bytes arrive as base64 strings: decode them so the search sees the JSON inside.
    if (k === 'data' && typeof v === 'string') return `${Buffer.from(v, 'base64').toString('utf8')} ${v}`;
    if (v instanceof Uint8Array) return `${Buffer.from(v).toString('utf8')} ${Buffer.from(v).toString('base64')}`;
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    }
    return v;
  });
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

async function runPipeline(env: Record<string, string>, label: string): Promise<{ result: PipelineResult; history: string; store: ArtifactStore }> {
  const q = uniqueQueue(label);
  const store = new ArtifactStore(fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-cot-store-')));
  const cot = createCotStage({ retry: { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 40 }, batchSize: 8 });
  const activities = createActivities({ store, log: quietLog, env, stages: { dataset: datasetStage, cot } });
  const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: [q], workflowQueue: q, concurrency: 4, shutdownGraceMs: 2000, identity: `cot-history-${label}` });
  const h = runWorkers(workers);
  try {
    const plan = makePlan(`cot-${label}`, q, [
      { id: 'dataset', kind: 'dataset', params: { train: 24 } },
      { id: 'cot', kind: 'cot', needs: ['dataset'], retry: { maximumAttempts: 2 }, params: {
        teachers: [{ type: 'attributes' }, { type: 'openai', id: 'vlm', model: 'fake-vl', baseUrl: server.baseUrl, apiKeyEnv: 'TEACHER_KEY', temperature: 0.2, maxTokens: 64, concurrency: 4, timeoutMs: 5000 }],
        samplesPerTeacher: 1, policy: 'first', keep: 'verified', rationalize: false } },
    ]);
    const handle = await startPipeline(s.client, plan, { workflowId: `cot-${q}`, taskQueue: q, searchAttributes: true });
    const result = (await handle.result().catch((e: unknown) => ({ error: e }))) as PipelineResult;
    const history = historyText(await handle.fetchHistory());
    return { result, history, store };
  } finally {
    h.shutdown();
    await h.done;
  }
}

test('a real run: the key is nowhere in the workflow history, artifacts, lineage or memo', async () => {
  server.resetCounts();
  server.faultFor = (c) => (c.nth === 1 && c.imageKey < '4' ? { kind: '429', retryAfter: '0' } : undefined);
  const { result, history, store } = await runPipeline({ TEACHER_KEY: KEY }, 'ok');
  assert.equal(result.status?.state, 'succeeded', JSON.stringify(result).slice(0, 2000));
  assert.ok(server.totalCalls >= 24);
  assert.match(history, /runCotStage/);
  assert.match(history, /TEACHER_KEY/, 'the variable name may appear (in the plan)');
  assert.ok(!history.includes(KEY), 'key in workflow history');
  const cotStage = result.status.stages.find((x) => x.id === 'cot');
  const manifest = store.readManifest(cotStage?.artifactId as string);
  assert.equal(manifest.kind, 'cot-dataset');
  assert.match(JSON.stringify(manifest), /promptHash/);
  const files = filesUnder(store.root);
  assert.ok(files.some((f) => f.endsWith('cot.jsonl')) && files.some((f) => f.endsWith('teacher-memo.jsonl')), files.join('\n'));
  for (const f of files) assert.ok(!fs.readFileSync(f).toString('utf8').includes(KEY), `key in ${f}`);
});

test('a rejected key fails the stage non-retryably with TeacherAuthError; the history holds no key', async () => {
  server.resetCounts();
  server.faultFor = () => undefined;
  const { result, history } = await runPipeline({ TEACHER_KEY: WRONG }, 'auth');
  assert.notEqual(result.status?.state, 'succeeded');
  assert.match(history, /TeacherAuthError/);
  assert.ok(!history.includes(WRONG), 'rejected key in workflow history');
  assert.ok(!history.includes(KEY));
  assert.ok(server.authFailures >= 1 && server.authFailures <= 4, `one attempt only: ${server.authFailures} refused asks`);
});
