// Teacher throughput in samples per second through the whole COT loop (ask, parse, verify, memo
// write, selection): the offline `attributes` teacher, and the `openai` teacher against the
// loopback fake server at concurrency 1, 4 and 16 — with an instant server (client overhead: PNG
// encoding, HTTP, JSON) and with 25 ms of simulated model latency (what concurrency buys).
// Medians of a few repeats, each on a fresh memo. Writes bench/results/teachers.json.
// Run: node --import tsx bench/teachers.ts [--quick]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../lib/ml/data/build-synthetic';
import { encodePng, openDataset } from '../lib/ml/data/dataset';
import { annotate } from '../lib/teachers/annotate';
import { createTeacher } from '../lib/teachers';
import type { TeacherSpec } from '../lib/teachers';
import { TeacherMemo } from '../lib/teachers/memo';
import type { TeacherSample } from '../lib/teachers/types';
import { FakeOpenAiServer } from '../test/helpers/fake-openai-server';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 2 : 3;
const ATTR_N = quick ? 500 : 2000;
const HTTP_N = quick ? 48 : 128;
const KEY = 'sk-bench-key-0000';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function samplesPerSec(spec: TeacherSpec, samples: TeacherSample[], labels: string[]): Promise<{ median: number; runs: number[] }> {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-bench-teachers-'));
    const memo = TeacherMemo.open(dir);
    const teacher = createTeacher(spec, { env: { TEACHER_KEY: KEY }, labels, seed: 1 });
    const t0 = process.hrtime.bigint();
    await annotate(samples, { teachers: [teacher], samplesPerTeacher: 1, policy: 'first', keep: 'verified', rationalize: false, memo, batchSize: 64 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    memo.close();
    fs.rmSync(dir, { recursive: true, force: true });
    runs.push(Number((samples.length / s).toFixed(1)));
  }
  return { median: median(runs), runs };
}

async function main(): Promise<void> {
  const dsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-bench-teachers-ds-'));
  writeSyntheticDataset(dsDir, { seed: 1, train: ATTR_N, val: 0, test: 0 });
  const ds = openDataset(dsDir);
  const samples: TeacherSample[] = ds.samples('train').map((r) => ({ ...r, png: () => encodePng(ds.image('train', r.index), ds.meta.imageSize) }));
  const labels = ds.meta.labels;
  const results: Record<string, unknown> = { node: process.version, cpus: os.cpus().length, repeats: REPEATS, unit: 'samples/s (median)' };

  results.attributes = { samples: ATTR_N, ...(await samplesPerSec({ type: 'attributes' }, samples, labels)) };
  console.log('attributes', results.attributes);

  const openai: Record<string, unknown> = {};
  for (const latencyMs of [0, 25]) {
    const server = await new FakeOpenAiServer({ apiKey: KEY, attributes: new Map(samples.map((s) => [s.imageSha256, s.attributes])), latencyMs }).start();
    try {
      for (const concurrency of [1, 4, 16]) {
        const spec: TeacherSpec = { type: 'openai', model: 'fake-vl', baseUrl: server.baseUrl, apiKeyEnv: 'TEACHER_KEY', concurrency, timeoutMs: 10_000 };
        const r = await samplesPerSec(spec, samples.slice(0, HTTP_N), labels);
        openai[`latency${latencyMs}ms_concurrency${concurrency}`] = { samples: HTTP_N, latencyMs, concurrency, ...r };
        console.log(`openai latency ${latencyMs} ms, concurrency ${concurrency}`, r);
      }
    } finally {
      await server.stop();
    }
  }
  results.openaiLoopback = openai;
  fs.rmSync(dsDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'teachers.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
