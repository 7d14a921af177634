// The PyTorch yardstick beside the project's numbers (issue 14.4), used by bench/ml.ts: the same VLM
// in PyTorch (bench/reference/vlm.py, held to the project's numbers by
// test/unit/ml/torch-parity.test.ts) trains on the very same batches from the very same initial
// weights and generates 8 × 64 tokens with its KV cache, interleaved rep by rep with the project's
// own step so both see the same machine load; plus the float32 matmul limit of numpy and torch.
// Runs only with the project's Python env (lib/python-env.ts): installed on demand when
// CLGRPO_BENCH_TORCH=1, otherwise "skipped: no torch".
// Exports: referencePython, startReference, Reference, REFERENCE_ENV, matmulLimit, projectMatmulGflops.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { pythonEnv } from '../../lib/python-env';

const ROOT = path.resolve(__dirname, '../..');
const RUN_PY = path.join(__dirname, 'run.py');
/** Environment of every reference process (recorded in ml.json). */
export const REFERENCE_ENV = { OMP_WAIT_POLICY: 'PASSIVE' };

export interface Timing { wall: number; cpu: number }

/** The env's python, installing the env first when CLGRPO_BENCH_TORCH=1; else why not. */
export function referencePython(env: NodeJS.ProcessEnv = process.env): { python: string } | { skipped: string } {
  let e = pythonEnv();
  if ('missing' in e && env.CLGRPO_BENCH_TORCH === '1') {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'python-env.js')], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) return { skipped: `no torch: npm run setup:python failed (exit ${r.status})` };
    e = pythonEnv();
  }
  return 'missing' in e ? { skipped: `no torch (${e.missing}; or CLGRPO_BENCH_TORCH=1)` } : e;
}

/** A `run.py serve` process: one JSON request per line, one JSON reply per line, in order. */
export class Reference {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<{ resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  private stderr = '';

  constructor(python: string) {
    // One intra-op pool whose size each request sets (torch.set_num_threads). OMP_WAIT_POLICY=PASSIVE:
    // on this shared, overloaded 2-core machine a spinning OpenMP worker burns the time slice its
    // sibling needs; measured on a tiny step at 2 threads, default 2,946 ms wall vs passive 226 ms.
    this.proc = spawn(python, [RUN_PY, 'serve'], { cwd: ROOT, env: { ...process.env, ...REFERENCE_ENV, OMP_NUM_THREADS: '2' } });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (!w) return;
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (typeof msg.error === 'string') w.reject(new Error(`bench/reference/run.py: ${msg.error}`));
      else w.resolve(msg);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`bench/reference/run.py exited ${code}: ${this.stderr}`));
    });
  }

  request<T>(req: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (v: Record<string, unknown>) => void, reject });
      this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

export function startReference(python: string): Reference {
  return new Reference(python);
}

/** numpy's and torch's float32 matmul GFLOP/s (n = 1024) at `threads`, each in a fresh process. */
export function matmulLimit(python: string, threads: number): Record<string, unknown> {
  const n = String(threads);
  const r = spawnSync(python, [RUN_PY, 'matmul', n], {
    cwd: ROOT, encoding: 'utf8',
    env: { ...process.env, ...REFERENCE_ENV, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0) throw new Error(`run.py matmul ${n} failed: ${line} ${r.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** The project backend's float32 matmul GFLOP/s at the same size (best of 5), per wall and CPU second. */
export function projectMatmulGflops(n = 1024): { wall: number; cpu: number } {
  const a = tf.randomNormal([n, n]) as tf.Tensor2D;
  const b = tf.randomNormal([n, n]) as tf.Tensor2D;
  const best = { wall: Infinity, cpu: Infinity };
  for (let r = 0; r < 6; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    const wall = performance.now() - t0;
    const cu = process.cpuUsage(c0);
    c.dispose();
    if (r === 0) continue; // warm-up
    best.wall = Math.min(best.wall, wall);
    best.cpu = Math.min(best.cpu, (cu.user + cu.system) / 1000);
  }
  tf.dispose([a, b]);
  const g = (ms: number) => Number(((2 * n ** 3) / ms / 1e6).toFixed(1));
  return { wall: g(best.wall), cpu: g(best.cpu) };
}
