// Runs a StageImplementation outside Temporal, in this process or in a child process, so tests can
// exercise heartbeats, cancellation and real process kills (SIGKILL) of a training stage.
// In a child, heartbeats, logs and the result are written to stdout as `HB|LOG|RESULT|ERROR <json>`
// lines; SIGTERM aborts ctx.signal (a worker shutdown). Other layers may reuse it.
// Exports: makeStageContext, runStageInChild, HarnessContext, ChildRun.
// Run as a script: `node --import tsx test/helpers/stage-harness.ts <config.json>`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProgressDetails, ResolvedInput, RunInfo, StageContext, StageOutput, StageRef, StageImplementation } from '../../activities/types';

export interface HarnessContext {
  stage: StageRef;
  run?: RunInfo;
  inputs: ResolvedInput[];
  outDir: string;
  workDir: string;
  attempt?: number;
  previousProgress?: ProgressDetails;
  env?: Record<string, string | undefined>;
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  heartbeats: ProgressDetails[];
  logs: string[];
  result?: StageOutput;
  error?: { type?: string; message: string };
  killed: boolean;
}

const RUN: RunInfo = { runId: 'test-run', workflowId: 'test-wf', pipeline: 'test', specHash: 'test', seed: 0 };

/** A StageContext whose heartbeats and logs are collected (and optionally forwarded). */
export function makeStageContext(h: HarnessContext, opts: { signal?: AbortSignal; onHeartbeat?: (d: ProgressDetails) => void; onLog?: (line: string) => void } = {}) {
  const heartbeats: ProgressDetails[] = [];
  const logs: string[] = [];
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) => {
    const line = `${level} ${msg}${meta ? ` ${JSON.stringify(meta)}` : ''}`;
    logs.push(line);
    opts.onLog?.(line);
  };
  const ctx: StageContext = {
    run: h.run ?? RUN,
    stage: h.stage,
    inputs: h.inputs,
    outDir: h.outDir,
    workDir: h.workDir,
    attempt: h.attempt ?? 1,
    workerIdentity: `harness@${os.hostname()}:${process.pid}`,
    previousProgress: h.previousProgress,
    heartbeat: (d) => { heartbeats.push(d); opts.onHeartbeat?.(d); },
    signal: opts.signal ?? new AbortController().signal,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    env: h.env ?? {},
  };
  return { ctx, heartbeats, logs };
}

/**
 * Spawns a child that runs `exportName` of `modulePath` (absolute) on the context. `killWhen` is
 * asked after every heartbeat; when it says yes the child gets SIGKILL (no cleanup runs).
 */
export function runStageInChild(modulePath: string, exportName: string, h: HarnessContext,
  opts: { killWhen?: (hb: ProgressDetails) => boolean; timeoutMs?: number } = {}): Promise<ChildRun> {
  const cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stage-harness-'));
  const cfg = path.join(cfgDir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({ modulePath, exportName, ctx: h }));
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, cfg], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...h.env } });
  const out: ChildRun = { code: null, signal: null, heartbeats: [], logs: [], killed: false };
  let buf = '';
  let stderr = '';
  const timer = setTimeout(() => { out.killed = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 120_000);
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const sp = line.indexOf(' ');
      const tag = line.slice(0, sp);
      const body = line.slice(sp + 1);
      if (tag === 'HB') {
        const hb = JSON.parse(body) as ProgressDetails;
        out.heartbeats.push(hb);
        if (!out.killed && opts.killWhen?.(hb)) { out.killed = true; child.kill('SIGKILL'); }
      } else if (tag === 'LOG') out.logs.push(JSON.parse(body) as string);
      else if (tag === 'RESULT') out.result = JSON.parse(body) as StageOutput;
      else if (tag === 'ERROR') out.error = JSON.parse(body) as ChildRun['error'];
    }
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(cfgDir, { recursive: true, force: true });
      out.code = code;
      out.signal = signal;
      if (code !== 0 && !out.killed && !out.error) out.error = { message: `child exited ${code}: ${stderr.slice(-2000)}` };
      resolve(out);
    });
  });
}

async function childMain(cfgFile: string): Promise<void> {
  const { modulePath, exportName, ctx: h } = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { modulePath: string; exportName: string; ctx: HarnessContext };
  const emit = (tag: string, v: unknown) => process.stdout.write(`${tag} ${JSON.stringify(v)}\n`);
  const ac = new AbortController();
  process.on('SIGTERM', () => ac.abort(new Error('SIGTERM')));
  const { ctx } = makeStageContext(h, { signal: ac.signal, onHeartbeat: (d) => emit('HB', d), onLog: (l) => emit('LOG', l) });
  const impl = (await import(modulePath))[exportName] as StageImplementation;
  try {
    emit('RESULT', await impl(ctx));
    process.exit(0);
  } catch (e) {
    const err = e as { type?: string; message?: string };
    emit('ERROR', { type: err.type, message: err.message ?? String(e) });
    process.exit(1);
  }
}

if (require.main === module) void childMain(process.argv[2]);
