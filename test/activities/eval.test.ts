// The eval stage on real tiny models: a well-formed report.json and report.md, one row per input
// model named by its stage id, confusion rows summing to each class's support, and deterministic
// (greedy) results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEvalStage } from '../../activities/eval';
import type { ProgressDetails, ResolvedInput, StageContext } from '../../activities/types';
import { ErrorType } from '../../lib/errors';
import { backendInfo, initBackend } from '../../lib/ml/backend';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import { VlmModel, modelConfig } from '../../lib/ml/model';
import { writeModelFiles } from '../../lib/ml/model-io';
import { tokenizerCorpus } from '../../lib/ml/prompt';
import { Tokenizer } from '../../lib/ml/tokenizer';
import { rngFor } from '../../lib/rng';
import type { EvalReport } from '../../lib/ml/metrics';

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `clgrpo-eval-${tag}-`));

async function world() {
  await initBackend();
  const datasetDir = tmp('ds');
  writeSyntheticDataset(datasetDir, { seed: 2, train: 16, val: 4, test: 12 });
  const ds = openDataset(datasetDir);
  const tok = Tokenizer.train(tokenizerCorpus(ds.samples('train'), ds.meta.labels), 300);
  const modelDirs = [1, 2].map((s) => {
    const dir = tmp(`m${s}`);
    const m = VlmModel.create(modelConfig('tiny', tok.vocabSize, ds.meta.imageSize), rngFor(s, 'init'));
    writeModelFiles(dir, m, tok);
    m.dispose();
    return dir;
  });
  return { datasetDir, modelDirs };
}

function ctxFor(inputs: ResolvedInput[], params: Record<string, unknown>, beats: ProgressDetails[]): StageContext {
  return {
    run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed: 1 },
    stage: { id: 'eval', kind: 'eval', key: 'k', params: params as never, seed: 1 },
    inputs, outDir: tmp('out'), workDir: tmp('work'), attempt: 1, workerIdentity: 'test',
    heartbeat: (d) => beats.push(d), signal: new AbortController().signal,
    log: { info: () => {}, warn: () => {}, error: () => {} }, env: {},
  };
}

const input = (name: string, from: string, dir: string, kind: 'model' | 'dataset'): ResolvedInput =>
  ({ input: name, from, artifactId: `id-${from}`, kind, dir, manifest: {} });

test('eval writes a well-formed report for every input model', async () => {
  const w = await world();
  const beats: ProgressDetails[] = [];
  const params = { split: 'test', limit: 10, maxNewTokens: 8, batchSize: 4 };
  const inputs = [input('models', 'baseline', w.modelDirs[0], 'model'), input('models', 'sft', w.modelDirs[1], 'model'),
    input('dataset', 'data', w.datasetDir, 'dataset')];
  const ctx = ctxFor(inputs, params, beats);
  const out = await runEvalStage(ctx);
  assert.equal(out.kind, 'eval-report');
  // The backend record has pretrain/sft's fields: the choice and why every earlier candidate failed.
  const b = backendInfo();
  assert.deepEqual(out.lineage, {
    backend: { name: b.name, tfBackend: b.tfBackend, tfjsVersion: b.tfjsVersion, fixes: b.fixes, failed: b.failed, ...(b.forced ? { forced: b.forced } : {}),
      ...(b.threads !== undefined ? { threads: b.threads } : {}) },
    split: 'test', n: 10,
  });
  const report = JSON.parse(fs.readFileSync(path.join(ctx.outDir, 'report.json'), 'utf8')) as EvalReport;
  assert.equal(report.split, 'test');
  assert.equal(report.labels.length, 8);
  assert.deepEqual(report.models.map((m) => [m.name, m.artifactId, m.n]), [['baseline', 'id-baseline', 10], ['sft', 'id-sft', 10]]);
  const truth = openDataset(w.datasetDir).samples('test').slice(0, 10);
  for (const m of report.models) {
    for (const k of ['accuracy', 'macroRecall', 'formatRate'] as const) assert.ok(m[k] >= 0 && m[k] <= 1, `${k} ${m[k]}`);
    assert.equal(m.confusion.length, 8);
    assert.ok(m.confusion.every((row) => row.length === 9));
    report.labels.forEach((l, i) => assert.equal(m.confusion[i].reduce((a, b) => a + b, 0), truth.filter((s) => s.label === l).length));
    const correct = m.confusion.reduce((a, row, i) => a + row[i], 0);
    assert.equal(m.accuracy, correct / 10);
  }
  const md = fs.readFileSync(path.join(ctx.outDir, 'report.md'), 'utf8');
  assert.match(md, /\| baseline \| 10 \|/);
  assert.match(md, /\| sft \| 10 \|/);
  assert.equal(beats.at(-1)?.step, 20);
  assert.equal(beats.at(-1)?.total, 20);
  assert.equal(out.metrics['sft.accuracy'], report.models[1].accuracy);
  // greedy decoding is deterministic: a second run writes the same report
  const again = ctxFor(inputs, params, []);
  await runEvalStage(again);
  assert.equal(fs.readFileSync(path.join(again.outDir, 'report.json'), 'utf8'), fs.readFileSync(path.join(ctx.outDir, 'report.json'), 'utf8'));
});

test('eval without a models input or with a bad split is a config error', async () => {
  const w = await world();
  await assert.rejects(runEvalStage(ctxFor([input('dataset', 'data', w.datasetDir, 'dataset')],
    { split: 'test', maxNewTokens: 8, batchSize: 4 }, [])), (e: { type?: string; message: string }) =>
    e.type === ErrorType.Config && /needs input 'models'/.test(e.message));
  await assert.rejects(runEvalStage(ctxFor([input('models', 'a', w.modelDirs[0], 'model'), input('dataset', 'data', w.datasetDir, 'dataset')],
    { split: 'train', maxNewTokens: 0, batchSize: 4 }, [])), (e: { type?: string; message: string }) =>
    e.type === ErrorType.Config && /split must be test or val/.test(e.message) && /maxNewTokens/.test(e.message));
});
