// The trainer subprocess of a `trainer: trl` stage (docs/trainers.md "The subprocess protocol"):
// spawns `<env python> -m trainers.trl` offline, writes one JSON job on stdin, and reads stdout as
// strict JSON lines — progress → heartbeats, checkpoint → the heartbeat's checkpoint, warning → log
// + a status warning, result → what the stage returns, error → a typed ClgrpoError. stderr is log
// text (redacted). Cancellation: SIGTERM, a grace period, then SIGKILL; checkpoints on disk stay.
// The store, lineage, retries and resume stay in TypeScript: Python is only the compute kernel.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { JsonObject } from '../canonical';
import { ClgrpoError, ErrorType, type ErrorTypeName } from '../errors';
import { pythonEnv } from '../python-env';
import type { ProgressDetails, StageContext } from './types';

export const TRAINER_PROTOCOL = 1;
export const TRAINER_GRACE_MS = 20_000;
const ROOT = path.resolve(__dirname, '..', '..');

/** The job a trainer gets on stdin (seed, outDir and workDir come from the StageContext). */
export interface TrainerJob {
  command: 'sft' | 'grpo' | 'eval' | 'inspect';
  /** Dir of the hf-model artifact to start from (sft, grpo). */
  model?: string;
  inputs: { dataset?: string; cot?: string; models?: Array<{ id: string; dir: string }> };
  params: JsonObject;
  device?: 'auto' | 'cpu' | 'cuda';
  dtype?: 'auto' | 'float32' | 'bfloat16';
}

export interface TrainerHello { versions: Record<string, string>; device: string; dtype: string }
export interface TrainerWarning { code: string; message: string }

export interface TrainerResult {
  hello?: TrainerHello;
  metrics: Record<string, number>;
  lineage: JsonObject;
  summary?: Record<string, number | string>;
  warnings: TrainerWarning[];
  /** The newest complete checkpoint dir, relative to workDir. */
  checkpoint?: string;
  /** Every progress line's metrics by step (the curves of training.json). */
  curves: Record<string, Array<[number, number]>>;
  /** The result line as sent (eval reads its extra fields). */
  raw: JsonObject;
}

export interface TrainerProcessOptions {
  /** Redacts secrets from text that leaves the process (stderr lines, messages). Injected: lib/ does not import activities/. */
  redact: (text: string) => string;
  /** The interpreter; default: the project's env (lib/python-env.ts). */
  python?: string;
  /** Default `-m trainers.trl`; tests run a stand-in script that speaks the protocol. */
  args?: string[];
  cwd?: string;
  /** SIGTERM → SIGKILL wait on cancellation. */
  graceMs?: number;
}

/** Worker env vars a trainer may see: never the teacher keys or other secrets of the worker. */
const PASS_ENV = /^(PATH|HOME|USER|LANG|LC_[A-Z]+|TMPDIR|TZ|CUDA_[A-Z_]+|NVIDIA_[A-Z_]+|LD_LIBRARY_PATH|HF_HOME|TORCH_HOME|OMP_NUM_THREADS|MKL_NUM_THREADS|PYTORCH_[A-Z_]+|XDG_CACHE_HOME)$/;
export const OFFLINE_ENV = {
  HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false',
  HF_HUB_DISABLE_TELEMETRY: '1',
} as const;

export function trainerEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASS_ENV.test(k)) out[k] = v;
  return { ...out, ...OFFLINE_ENV, PYTHONPATH: ROOT };
}

/** The interpreter to run, or a non-retryable ConfigError saying how to get it. */
export function trainerPython(): string {
  const env = pythonEnv();
  if ('python' in env) return env.python;
  throw new ClgrpoError(ErrorType.Config,
    `trainer trl needs the project's Python env (PyTorch + transformers + TRL) on this worker: ${env.missing}. Install it with \`npm run setup:python\` and restart the worker`,
    { details: { missing: env.missing } });
}

const KNOWN_TYPES = new Set<string>(Object.values(ErrorType));

/** A trainer's `errorType` (a catalogue value like `DivergenceError`, or its key `Divergence`) → ours. */
export function errorTypeOf(name: unknown): ErrorTypeName | undefined {
  if (typeof name !== 'string') return undefined;
  if (KNOWN_TYPES.has(name)) return name as ErrorTypeName;
  return (ErrorType as Record<string, ErrorTypeName>)[name];
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const numbers = (v: unknown): Record<string, number> => (isObj(v)
  ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'number' && Number.isFinite(x))) as Record<string, number> : {});
const short = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** Reads one trainer run: the state the protocol lines build up, and the first fatal problem. */
class Session {
  hello?: TrainerHello;
  result?: JsonObject;
  error?: ClgrpoError;
  checkpoint?: string;
  warnings: TrainerWarning[] = [];
  curves: Record<string, Array<[number, number]>> = {};
  stderrTail: string[] = [];
  private last: ProgressDetails = { step: 0, total: 0 };

  constructor(private ctx: StageContext, private redact: (t: string) => string, private activity: string) {}

  private protocol(line: string, why: string): ClgrpoError {
    return new ClgrpoError(ErrorType.TrainerProtocol,
      `trainer of stage '${this.ctx.stage.id}' broke the JSON-lines protocol: ${why}: ${JSON.stringify(short(this.redact(line)))} (stdout is for protocol lines only; print logs to stderr)`);
  }

  private beat(d: Partial<ProgressDetails>): void {
    const warn = this.warnings.length ? ` (warning: ${[...new Set(this.warnings.map((w) => w.code))].join(', ')})` : '';
    this.last = { ...this.last, ...d };
    this.ctx.heartbeat({ ...this.last, phase: `${d.phase ?? this.activity}${warn}`, ...(this.checkpoint ? { checkpoint: this.checkpoint } : {}) });
  }

  /** One stdout line; a problem is returned (the caller stops the process), never thrown. */
  line(text: string): ClgrpoError | undefined {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.protocol(text, 'a stdout line is not JSON');
    }
    if (!isObj(msg) || typeof msg.type !== 'string') return this.protocol(text, 'a stdout line is not a JSON object with a string `type`');
    switch (msg.type) {
      case 'hello':
        this.hello = { versions: isObj(msg.versions) ? Object.fromEntries(Object.entries(msg.versions).map(([k, v]) => [k, String(v)])) : {},
          device: String(msg.device ?? 'unknown'), dtype: String(msg.dtype ?? 'unknown') };
        this.ctx.log.info(`trl trainer: ${Object.entries(this.hello.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; device ${this.hello.device}, dtype ${this.hello.dtype}`);
        return undefined;
      case 'progress':
        if (typeof msg.step !== 'number' || typeof msg.total !== 'number') return this.protocol(text, 'progress needs numeric step and total');
        for (const [k, v] of Object.entries(numbers(msg.metrics))) (this.curves[k] ??= []).push([msg.step, v]);
        this.beat({ step: msg.step, total: msg.total, metrics: numbers(msg.metrics), phase: typeof msg.phase === 'string' ? msg.phase : undefined });
        return undefined;
      case 'checkpoint': {
        if (typeof msg.dir !== 'string') return this.protocol(text, 'checkpoint needs a dir');
        const rel = path.relative(this.ctx.workDir, path.resolve(this.ctx.workDir, msg.dir));
        if (rel.startsWith('..') || path.isAbsolute(rel)) return this.protocol(text, `checkpoint dir is outside the stage's work dir ${this.ctx.workDir}`);
        this.checkpoint = rel.split(path.sep).join('/');
        this.beat({ ...(typeof msg.step === 'number' ? { step: msg.step } : {}), phase: 'checkpoint written' });
        return undefined;
      }
      case 'warning': {
        const w = { code: String(msg.code ?? 'warning'), message: this.redact(String(msg.message ?? '')) };
        if (!this.warnings.some((x) => x.code === w.code)) this.warnings.push(w);
        this.ctx.log.warn(`trl trainer warning ${w.code}: ${w.message}`);
        this.beat({});
        return undefined;
      }
      case 'result':
        this.result = msg as JsonObject;
        return undefined;
      case 'error': {
        const type = errorTypeOf(msg.errorType);
        const message = this.redact(String(msg.message ?? 'no message'));
        this.error = new ClgrpoError(type ?? ErrorType.TrainerCrashed,
          `trainer of stage '${this.ctx.stage.id}': ${message}${type ? '' : ` (trainer error type ${JSON.stringify(short(String(msg.errorType), 60))} is not in lib/errors.ts; treated as a crash)`}`,
          { details: { errorType: String(msg.errorType), retryable: msg.retryable === true } });
        return undefined;
      }
      default:
        return this.protocol(text, `unknown message type ${JSON.stringify(short(msg.type, 40))}`);
    }
  }

  stderr(text: string): void {
    const clean = this.redact(text);
    this.stderrTail.push(clean);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    this.ctx.log.info(`trl: ${clean}`);
  }
}

/** Splits a stream into lines, calling `onLine` for each complete one. */
function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): () => void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      onLine(l);
    }
  });
  return () => {
    if (buf.length) onLine(buf);
    buf = '';
  };
}

/** SIGTERM now, SIGKILL after `graceMs` if it is still running. */
function terminate(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/**
 * Runs the trainer for one stage attempt. Resolves with its result, or rejects with a typed
 * ClgrpoError: the trainer's own `error`, TrainerProtocol, TrainerCrashed, Config (no env) or
 * Cancelled.
 */
export function runTrainerProcess(ctx: StageContext, job: TrainerJob, opts: TrainerProcessOptions): Promise<TrainerResult> {
  const python = opts.python ?? trainerPython();
  const args = opts.args ?? ['-m', 'trainers.trl'];
  const graceMs = opts.graceMs ?? TRAINER_GRACE_MS;
  const full = { protocol: TRAINER_PROTOCOL, ...job, seed: ctx.stage.seed, outDir: ctx.outDir, workDir: ctx.workDir,
    device: job.device ?? 'auto', dtype: job.dtype ?? 'auto' };
  const s = new Session(ctx, opts.redact, job.command === 'eval' ? 'evaluating' : job.command === 'inspect' ? 'inspecting' : 'training');
  return new Promise<TrainerResult>((resolve, reject) => {
    if (ctx.signal.aborted) {
      reject(new ClgrpoError(ErrorType.Cancelled, `stage '${ctx.stage.id}' cancelled before its trainer started`));
      return;
    }
    const child = spawn(python, args, { cwd: opts.cwd ?? ROOT, env: trainerEnv(ctx.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let fatal: ClgrpoError | undefined;
    let spawnError: Error | undefined;
    const onAbort = () => {
      ctx.log.warn(`cancelled: SIGTERM to the trainer (pid ${child.pid}); SIGKILL in ${graceMs} ms if it has not exited`);
      terminate(child, graceMs);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const endOut = lines(child.stdout, (l) => {
      if (fatal) return;
      const p = s.line(l);
      if (p) {
        fatal = p;
        ctx.log.error(p.message);
        terminate(child, Math.min(graceMs, 2000)); // a broken trainer gets no long grace
      }
    });
    const endErr = lines(child.stderr, (l) => s.stderr(l));
    child.on('error', (e) => { spawnError = e; });
    child.stdin.on('error', () => { /* the trainer exited before reading its job: its exit says why */ });
    child.stdin.end(`${JSON.stringify(full)}\n`);
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      endOut();
      endErr();
      const tail = s.stderrTail.length ? `; last stderr lines:\n${s.stderrTail.slice(-8).join('\n')}` : '';
      if (spawnError) {
        reject(new ClgrpoError(ErrorType.Config, `cannot start the trainer ${python}: ${spawnError.message}; run \`npm run setup:python\``, { cause: spawnError }));
      } else if (ctx.signal.aborted) {
        reject(new ClgrpoError(ErrorType.Cancelled, `stage '${ctx.stage.id}' cancelled; trainer stopped (${signal ?? `exit ${code}`}); checkpoint ${s.checkpoint ?? 'none'} kept`));
      } else if (fatal) {
        reject(fatal);
      } else if (s.error) {
        reject(s.error);
      } else if (code === 0 && s.result) {
        const r = s.result;
        resolve({ hello: s.hello, metrics: numbers(r.metrics), lineage: isObj(r.lineage) ? r.lineage as JsonObject : {},
          summary: isObj(r.summary) ? r.summary as Record<string, number | string> : undefined, warnings: s.warnings, checkpoint: s.checkpoint, curves: s.curves, raw: r });
      } else {
        const how = signal ? `was killed by ${signal}` : code === 0 ? 'exited 0 without a result line' : `exited with code ${code} without an error line`;
        reject(new ClgrpoError(ErrorType.TrainerCrashed,
          `trainer of stage '${ctx.stage.id}' ${how} (out of memory, killed, or a crash); the attempt is retried from checkpoint ${s.checkpoint ?? 'none'}${tail}`,
          { details: { code, signal, checkpoint: s.checkpoint ?? null } }));
      }
    });
  });
}
