// FAULTS.md 19 with a real crash: the cot stage runs in a child process against the loopback
// endpoint, is SIGKILLed mid-stage, then rerun on the same work dir. The fake server's per-image
// call counts prove that no sample finished before the kill is asked again, and that the rerun asks
// exactly the rest.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import { MEMO_FILE } from '../../lib/teachers/memo';
import { FakeOpenAiServer } from '../helpers/fake-openai-server';
import type { CotChildConfig } from '../helpers/cot-child';

const KEY = 'sk-kill-test-key-5555';
const repo = path.resolve(__dirname, '../..');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cot-kill-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function startChild(config: CotChildConfig, name: string): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> } {
  const file = path.join(root, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'test/helpers/cot-child.ts'), file], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { stdout += c.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout })));
  return { child, done };
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('SIGKILL mid-stage, rerun: finished samples are never asked again', async () => {
  const dsDir = path.join(root, 'dataset');
  fs.mkdirSync(dsDir);
  writeSyntheticDataset(dsDir, { seed: 5, train: 48, val: 0, test: 0 });
  const rows = openDataset(dsDir).samples('train');
  const server = await new FakeOpenAiServer({ apiKey: KEY, attributes: new Map(rows.map((r) => [r.imageSha256, r.attributes])), latencyMs: 40 }).start();
  try {
    const workDir = path.join(root, 'work');
    const config = (out: string): CotChildConfig => {
      fs.mkdirSync(path.join(root, out), { recursive: true });
      return {
        datasetDir: dsDir, workDir, outDir: path.join(root, out), env: { TEACHER_KEY: KEY },
        params: { teachers: [{ type: 'openai', id: 'vlm', model: 'fake-vl', baseUrl: server.baseUrl, apiKeyEnv: 'TEACHER_KEY', temperature: 0.2, maxTokens: 64, concurrency: 2, timeoutMs: 5000 }], samplesPerTeacher: 1, policy: 'first', keep: 'verified', rationalize: false },
        options: { batchSize: 8, retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 20 } },
      };
    };
    const first = startChild(config('out1'), 'first');
    await until(() => server.totalCalls >= 20, 60_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL', killed.stdout);
    const firstCalls = new Map(server.calls);
    const memo = fs.readFileSync(path.join(workDir, MEMO_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { index: number });
    const finished = new Set(memo.map((m) => rows[m.index].imageSha256));
    assert.ok(finished.size >= 10 && finished.size < rows.length, `finished before the kill: ${finished.size}`);
    for (const img of finished) assert.equal(firstCalls.get(img), 1);

    server.resetCounts();
    const second = startChild(config('out2'), 'second');
    const res = await second.done;
    assert.equal(res.code, 0, res.stdout);
    for (const img of finished) assert.equal(server.calls.get(img) ?? 0, 0, `sample ${img.slice(0, 8)} asked again after the kill`);
    assert.equal(server.totalCalls, rows.length - finished.size, 'the rerun asked exactly the unfinished samples');
    const out = JSON.parse(res.stdout.split('\n').filter((l) => l.startsWith('{"out"')).at(-1) as string).out;
    assert.equal(out.metrics.asked, rows.length);
    assert.equal(out.metrics.newAsks, rows.length - finished.size);
    assert.ok(!(killed.stdout + res.stdout).includes(KEY), 'no key in the child\'s output');
  } finally {
    await server.stop();
  }
});
