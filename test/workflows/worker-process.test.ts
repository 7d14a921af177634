// `clgrpo worker` as a real process against a test server (TEMPORAL_ADDRESS): it logs its TF.js
// backend, runs a compiled spec's dataset stages, and exits cleanly on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAndCompile } from '../../lib/plan';
import { ArtifactStore, readRun } from '../../lib/store';
import { startPipeline } from '../../lib/temporal/pipeline-client';
import { PIPELINE_TASK_QUEUE } from '../../lib/temporal/names';
import type { PipelineResult } from '../../workflows/pipeline';
import { startTestServer, uniqueQueue, type TestServer } from '../helpers/temporal';

const ROOT = resolve(__dirname, '..', '..');
let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.stop(); });

test('a worker process serves a run and stops on SIGTERM', async () => {
  const home = mkdtempSync(join(tmpdir(), 'clgrpo-wproc-'));
  const q = uniqueQueue('proc');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'clgrpo.js'), 'worker', '--queues', q, '--grace-seconds', '5'], {
    cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: s.info.address, CLGRPO_HOME: home, TFJS_BACKEND: 'cpu' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const plan = loadAndCompile(join(ROOT, 'test', 'e2e', 'fixtures', 'datasets.yaml'), { set: [`defaults.queue=${q}`] });
    const h = await startPipeline(s.client, plan, { workflowId: `proc-${q}`, taskQueue: PIPELINE_TASK_QUEUE });
    const res = (await h.result()) as PipelineResult;
    assert.equal(res.status.state, 'succeeded');
    const store = new ArtifactStore(home);
    for (const st of res.status.stages) assert.ok(store.verify(st.artifactId as string).ok);
    assert.equal(readRun(store, `proc-${q}`)?.status, 'succeeded');
    assert.match(err, /TF\.js .*backend/);
    assert.match(err, new RegExp(`polling clgrpo-pipelines, ${q}`));
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, err);
  assert.match(err, /SIGTERM: stopping/);
  assert.match(err, /\[worker\] stopped/);
});
