// FAULTS 17 and 21 and the "resume while running" case, through the real `clgrpo` command and real
// `clgrpo worker` processes against this file's dev server (TEMPORAL_ADDRESS) and one store:
// - `resume` of a run that is still running attaches to it, clearly, and never starts a second
//   execution;
// - the same spec submitted twice at once (no --name, in the same tick, or named in different
//   seconds) makes one execution: the second start is refused by the server, naming the run;
// - two workers race on one queue while two named runs of the same spec run at once: every stage key
//   is published once, both runs succeed with the same artifacts, nothing is left over.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { ArtifactStore } from '../../lib/store';
import { defaultRunName, startPipeline } from '../../lib/temporal/pipeline-client';
import type { PipelineResult } from '../../workflows/pipeline';
import { startTestServer, uniqueQueue, type TestServer } from '../helpers/temporal';
import { compileSpec, REPO, tempDir, tinySpec } from './helpers/cluster';
import { storeProblems } from './helpers/crash-loop';

let server: TestServer;
let home: string;
before(async () => {
  server = await startTestServer();
  home = tempDir('concurrency');
});
after(async () => { await server?.stop(); });

interface Cli { code: number | null; out: string }
const env = () => ({ ...process.env, CLGRPO_HOME: join(home, 'store'), TEMPORAL_ADDRESS: server.info.address, TFJS_BACKEND: 'wasm' });

function clgrpo(args: string[]): Promise<Cli> {
  const child = spawn(process.execPath, [join(REPO, 'bin/clgrpo.js'), ...args], { cwd: home, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((res) => child.on('exit', (code) => res({ code, out })));
}

function specFile(name: string, queue: string): string {
  const file = join(home, `${name}.yaml`);
  writeFileSync(file, tinySpec({ name, queue, pretrainSteps: 4, sftSteps: 2, checkpointEvery: 2 }));
  return file;
}

/** Running executions of a spec (memo.specHash, set by startPipeline), as Temporal lists them. */
async function runningOf(specHash: string): Promise<Array<{ workflowId: string; runId: string }>> {
  await new Promise((r) => setTimeout(r, 1000)); // visibility is eventually consistent
  const out: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of server.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (w.memo?.specHash === specHash) out.push({ workflowId: w.workflowId, runId: w.runId });
  }
  return out;
}

test('resume of a run that is still running attaches to it, clearly, never a second execution', async () => {
  const spec = specFile('resume-running', uniqueQueue('nobody')); // no worker serves it: it stays running
  const started = await clgrpo(['run', spec, '--name', 'still-running', '--detach']);
  assert.equal(started.code, 0, started.out);
  const before = await server.client.workflow.getHandle('still-running').describe();
  const again = await clgrpo(['resume', 'still-running', '--detach']);
  // `resume` (unlike `run`) attaches to the open execution: exit 0, saying so, detached again.
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /^run still-running is still open: attaching and following it$/m, again.out);
  assert.match(again.out, /detached: follow with 'clgrpo watch still-running'/, again.out);
  assert.doesNotMatch(again.out, /already running|resumed run/, again.out);
  const afterwards = await server.client.workflow.getHandle('still-running').describe();
  assert.equal(afterwards.runId, before.runId, 'the same execution, not a new one');
  assert.equal(afterwards.status.name, 'RUNNING');
  await server.client.workflow.getHandle('still-running').terminate('test cleanup');
});

test('the same spec submitted twice at once: one execution, the second refused naming it', async () => {
  const queue = uniqueQueue('nobody');
  const spec = specFile('twice', queue);
  const plan = compileSpec(tinySpec({ name: 'twice', queue, pretrainSteps: 4, sftSteps: 2, checkpointEvery: 2 }));
  const both = await Promise.all([clgrpo(['run', spec, '--detach']), clgrpo(['run', spec, '--detach'])]);
  const running = await runningOf(plan.specHash);
  try {
    const outs = both.map((r) => `exit ${r.code}: ${r.out}`).join('\n');
    assert.equal(running.length, 1, `executions of one spec running at once: ${running.map((w) => w.workflowId).join(', ')}\n${outs}`);
    const id = running[0].workflowId;
    assert.deepEqual(both.map((r) => r.code).sort(), [0, 2], outs);
    const refused = both.find((r) => r.code === 2) as Cli;
    assert.match(refused.out, new RegExp(`a run of this spec \\(${plan.specHash.slice(0, 12)}\\) is already running as '${id}'`), outs);
    for (const verb of ['watch', 'resume', 'cancel']) assert.ok(refused.out.includes(`'clgrpo ${verb} ${id}'`), `the refusal says how to ${verb}: ${refused.out}`);
  } finally {
    for (const w of running) await server.client.workflow.getHandle(w.workflowId, w.runId).terminate('test cleanup');
  }
});

test('two starts of one spec in the same tick, named in different seconds: one execution; a closed one does not block', async () => {
  const plan = compileSpec(tinySpec({ name: 'same-tick', queue: uniqueQueue('nobody') }));
  // Two CLIs started at different times name their runs at different times; the name must not care.
  const firstName = defaultRunName(plan);
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 20));
  const names = [firstName, defaultRunName(plan)];
  const settled = await Promise.allSettled(names.map((workflowId) => startPipeline(server.client, plan, { workflowId })));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  try {
    assert.equal(started.length, 1, `starts that made an execution: ${started.map((h) => h.workflowId).join(', ')}`);
    assert.equal(refused.length, 1);
    const err = refused[0];
    assert.ok(err instanceof ClgrpoError && err.type === ErrorType.Config, String(err));
    assert.ok(err.cause instanceof WorkflowExecutionAlreadyStartedError, 'the refusal keeps the server\'s typed error as its cause');
    assert.match(err.message, new RegExp(`already running as '${started[0].workflowId}'.*'clgrpo watch ${started[0].workflowId}'`));
  } finally {
    for (const h of started) await h.terminate('test cleanup');
  }
  // A closed execution (terminated here; completed or failed alike) does not block the next run.
  const again = await startPipeline(server.client, plan, { workflowId: names[0] });
  assert.notEqual(again.firstExecutionRunId, started[0].firstExecutionRunId);
  await again.terminate('test cleanup');
});

test('two workers racing on one queue, two named runs of one spec at once: each stage key published once', async () => {
  const queue = uniqueQueue('race');
  const spec = specFile('race', queue);
  const workers = [0, 1].map(() => spawn(process.execPath, [join(REPO, 'bin/clgrpo.js'), 'worker', '--queues', queue, '--grace-seconds', '1'],
    { cwd: home, env: env(), stdio: ['ignore', 'ignore', 'pipe'] }));
  let logs = '';
  for (const w of workers) w.stderr.on('data', (d: Buffer) => { logs += d.toString(); });
  try {
    const starts = await Promise.all(['race-a', 'race-b'].map((n) => clgrpo(['run', spec, '--name', n, '--detach'])));
    for (const s of starts) assert.equal(s.code, 0, s.out);
    const results = await Promise.all(['race-a', 'race-b'].map((n) => server.client.workflow.getHandle(n).result() as Promise<PipelineResult>));
    for (const r of results) assert.equal(r.status.state, 'succeeded', JSON.stringify(r.status));
    const ids = results.map((r) => r.status.stages.map((s) => s.artifactId));
    assert.deepEqual(ids[0], ids[1], 'both runs end with the same artifacts');
    const root = join(home, 'store');
    assert.deepEqual(new ArtifactStore(root).listArtifacts().sort(), [...new Set(ids[0])].sort());
    assert.deepEqual(storeProblems(root, ['data', 'base', 'sft']), [], logs.slice(-3000));
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.on('exit', r) : r(null)))));
  }
});
