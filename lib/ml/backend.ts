// The one place that chooses the TF.js backend. Order: tfjs-node-gpu → tfjs-node (the native addon that
// scripts/native-tfjs.js builds at set-up) → wasm (with the kernel fixes of wasm-fixes.ts) → cpu; each
// attempt in try/catch. `TFJS_BACKEND` (gpu|node|wasm|cpu, also 'tfjs-node-gpu', 'tfjs-node',
// 'tensorflow') forces one and fails loudly if it cannot load.
// The choice and why every earlier candidate failed are recorded for manifests/lineage, with the CPU
// kind: the native backend's last bits follow the CPU's instruction set, so exact resume holds only on
// the same backend and CPU kind (`numericsOrigin`, `compareOrigins`; checkpoints record the origin),
// and on the native backend with the same TF thread count (native-env.ts: one by default).
// Nothing else in the project calls tf.setBackend.
// Exports: initBackend(opts?) → BackendInfo (idempotent), backendInfo() (after init), describeBackendChoice(),
//          backendLineage() (the lineage.backend record), cpuKind(), numericsOrigin(), compareOrigins(), resumeRecordFor(), inexactResumeMessage(),
//          BackendInfo, BackendName, CpuKind, NumericsOrigin, ResumeRecord.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { ClgrpoError, ErrorType } from '../errors';
import { applyWasmFixes } from './wasm-fixes';
import { applyNativeEnvDefaults, tfIntraOpThreads } from './native-env';

export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** Which candidate won. */
  name: BackendName;
  /** tf.getBackend() after the choice ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  tfjsVersion: string;
  /** Set when TFJS_BACKEND forced the choice. */
  forced?: string;
  /** Candidates tried before the chosen one, with the reason each failed. */
  failed: Array<{ name: BackendName; reason: string }>;
  /** Kernel fixes registered (wasm). */
  fixes: string[];
  simd?: boolean;
  /** Native backends: TF's intra-op threads (0: TF's default, one per core). */
  threads?: number;
  /** The CPU the numbers were computed on. */
  cpu: CpuKind;
  [key: string]: unknown;
}

/** What decides a backend's last bits on a machine: the CPU model and the instruction-set features kernels dispatch on. */
export interface CpuKind {
  model: string;
  /** sha256 (12 hex) of the sorted SIMD/FMA feature flags of /proc/cpuinfo; the arch where there is none. */
  isa: string;
}

/** Where a checkpoint's numbers came from; equal origins make a resume bit-exact. */
export interface NumericsOrigin {
  backend: BackendName;
  tfjsVersion: string;
  cpu: CpuKind;
  /** Native backends: TF's intra-op threads (reduction order); absent in checkpoints written before it was recorded. */
  threads?: number;
}

// Features that change which kernels TF (Eigen/oneDNN/XNNPACK) runs, hence rounding; not e.g. `hypervisor`.
const ISA_FLAG = /^(sse|ssse|avx|fma|f16c|amx|bmi|adx|popcnt|abm|movbe|vnni|neon|asimd|sve)/;
let cpuCache: CpuKind | undefined;

/** The CPU kind of this machine (cached). */
export function cpuKind(): CpuKind {
  if (cpuCache) return cpuCache;
  let model = os.cpus()[0]?.model?.trim() || 'unknown';
  let flags: string[] = [];
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1].trim() ?? model;
    flags = (/^(?:flags|Features)\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/).filter((f) => ISA_FLAG.test(f)).sort();
  } catch { /* not Linux: the model and arch are all we know */ }
  const isa = flags.length ? createHash('sha256').update(flags.join(' ')).digest('hex').slice(0, 12) : process.arch;
  return (cpuCache = { model, isa });
}

let info: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

const ALIASES: Record<string, BackendName> = {
  gpu: 'tfjs-node-gpu', 'tfjs-node-gpu': 'tfjs-node-gpu', 'node-gpu': 'tfjs-node-gpu',
  node: 'tfjs-node', 'tfjs-node': 'tfjs-node', tensorflow: 'tfjs-node',
  wasm: 'wasm', cpu: 'cpu',
};

/** Parses a TFJS_BACKEND value; throws a ConfigError naming the valid values. */
export function parseBackendName(value: string): BackendName {
  const name = ALIASES[value.trim().toLowerCase()];
  if (!name) {
    throw new ClgrpoError(ErrorType.Config,
      `TFJS_BACKEND=${JSON.stringify(value)} is not a backend; use one of gpu, node, wasm, cpu`);
  }
  return name;
}

async function tryBackend(name: BackendName): Promise<{ fixes: string[] }> {
  if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
    // Thread count and log level (native-env.ts); in a stage thread the runner set them already.
    applyNativeEnvDefaults();
    // The native bindings register the 'tensorflow' backend on import.
    require(name === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
    if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend(tensorflow) returned false');
    return { fixes: [] };
  }
  if (name === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('setBackend(wasm) returned false');
    await tf.ready();
    return { fixes: applyWasmFixes() };
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('setBackend(cpu) returned false');
  return { fixes: [] };
}

function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 200);
}

async function choose(forcedRaw: string | undefined): Promise<BackendInfo> {
  const forced = forcedRaw ? parseBackendName(forcedRaw) : undefined;
  const candidates = forced ? [forced] : BACKEND_ORDER;
  const failed: BackendInfo['failed'] = [];
  for (const name of candidates) {
    try {
      const { fixes } = await tryBackend(name);
      await tf.ready();
      return {
        name, tfBackend: tf.getBackend(), tfjsVersion: tf.version_core, failed, fixes, cpu: cpuKind(),
        ...(forced ? { forced: forcedRaw } : {}),
        ...(name === 'wasm' ? { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') } : {}),
        ...(name === 'tfjs-node' || name === 'tfjs-node-gpu' ? { threads: tfIntraOpThreads() } : {}),
      };
    } catch (e) {
      failed.push({ name, reason: reasonOf(e) });
    }
  }
  throw new ClgrpoError(ErrorType.Config,
    `no TF.js backend could start (${failed.map((f) => `${f.name}: ${f.reason}`).join('; ')})`);
}

/**
 * Chooses and initializes the backend once per process; later calls return the same info.
 * `env` defaults to process.env (only TFJS_BACKEND is read).
 */
export function initBackend(opts: { env?: Readonly<Record<string, string | undefined>> } = {}): Promise<BackendInfo> {
  if (info) return Promise.resolve(info);
  if (!pending) {
    const env = opts.env ?? process.env;
    pending = choose(env.TFJS_BACKEND || undefined).then((i) => (info = i));
    pending.catch(() => { pending = undefined; });
  }
  return pending;
}

/** The recorded choice; throws if initBackend has not completed. */
export function backendInfo(): BackendInfo {
  if (!info) throw new Error('backendInfo() called before initBackend() finished');
  return info;
}

/** One line for the worker log: chosen backend, fixes, and why earlier candidates failed. */
export function describeBackendChoice(i: BackendInfo | undefined = info): string {
  if (!i) return 'TF.js backend: not initialized';
  const parts = [`TF.js ${i.tfjsVersion} backend: ${i.name}${i.forced ? ` (forced by TFJS_BACKEND=${i.forced})` : ''}`];
  if (i.fixes.length) parts.push(`fixes: ${i.fixes.join(', ')}`);
  if (i.simd !== undefined) parts.push(`simd: ${i.simd}`);
  if (i.threads !== undefined) parts.push(`threads: ${i.threads || 'TF default'}`);
  parts.push(`cpu: ${i.cpu.model} (isa ${i.cpu.isa})`);
  for (const f of i.failed) parts.push(`${f.name} unavailable: ${f.reason}`);
  return parts.join('; ');
}

/** What every model and eval artifact records as `lineage.backend`: the choice and why earlier candidates failed. */
export function backendLineage(i: BackendInfo = backendInfo()): {
  name: BackendName; tfBackend: string; tfjsVersion: string; fixes: string[]; failed: BackendInfo['failed']; forced?: string; threads?: number;
} {
  return { name: i.name, tfBackend: i.tfBackend, tfjsVersion: i.tfjsVersion, fixes: i.fixes, failed: i.failed, ...(i.forced ? { forced: i.forced } : {}),
    ...(i.threads !== undefined ? { threads: i.threads } : {}) };
}

/** This process's numerics origin, or undefined before initBackend finished (e.g. a unit test's bare checkpoint). */
export function numericsOrigin(i: BackendInfo | undefined = info): NumericsOrigin | undefined {
  return i ? { backend: i.name, tfjsVersion: i.tfjsVersion, cpu: i.cpu, ...(i.threads !== undefined ? { threads: i.threads } : {}) } : undefined;
}

/**
 * Whether continuing from numbers made at `from` on `to` is bit-exact: same backend, TF.js version
 * and CPU kind, and on the same native backend the same TF thread count (an older native checkpoint
 * without one is not exact). A checkpoint without an origin (written before origins were recorded)
 * is unknown, so not exact. `differs` names what changed, for the stage's warning.
 */
export function compareOrigins(from: NumericsOrigin | undefined, to: NumericsOrigin): { exact: boolean; differs: string[] } {
  if (!from) return { exact: false, differs: ['origin unrecorded'] };
  const differs = [
    from.backend !== to.backend && `backend ${from.backend} → ${to.backend}`,
    from.tfjsVersion !== to.tfjsVersion && `TF.js ${from.tfjsVersion} → ${to.tfjsVersion}`,
    (from.cpu?.model !== to.cpu.model || from.cpu?.isa !== to.cpu.isa) && `cpu ${from.cpu?.model} (isa ${from.cpu?.isa}) → ${to.cpu.model} (isa ${to.cpu.isa})`,
    // same native backend, another thread count: another reduction order
    from.backend === to.backend && to.threads !== undefined && from.threads !== to.threads &&
      `TF threads ${threadsText(from.threads)} → ${threadsText(to.threads)}`,
  ].filter((d): d is string => typeof d === 'string');
  return { exact: differs.length === 0, differs };
}

function threadsText(n: number | undefined): string {
  return n === undefined ? 'unrecorded' : n === 0 ? 'TF default' : String(n);
}

/** What a resume means for exactness (lineage.resume of a trained model). */
export interface ResumeRecord {
  exact: boolean;
  fromStep: number;
  /** Who wrote the checkpoint (null: not recorded, i.e. an older checkpoint). */
  from: NumericsOrigin | null;
  to: NumericsOrigin;
  /** What differs, e.g. 'backend wasm → tfjs-node' (empty when exact). */
  differs: string[];
}

/** The record of resuming at `step` from a checkpoint written at `from`, on this process's backend. */
export function resumeRecordFor(step: number, from: NumericsOrigin | undefined): ResumeRecord {
  const to = numericsOrigin();
  if (!to) throw new Error('a resume needs initBackend() first');
  const { exact, differs } = compareOrigins(from, to);
  return { exact, fromStep: step, from: from ?? null, to, differs };
}

/** The warning a stage of `kind` logs when a resume cannot be bit-exact. */
export function inexactResumeMessage(kind: string, r: ResumeRecord): string {
  return `${kind} resumes from a checkpoint written elsewhere (${r.differs.join('; ')}): training continues, but the result will not be bit-identical to an uninterrupted run`;
}
