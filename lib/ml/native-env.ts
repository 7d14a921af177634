// The environment TensorFlow's C library reads once, when the native backend (tfjs-node) starts in a
// thread: its thread pools and its log level. TF reads the process's real environment, and only the
// main thread's `process.env` writes reach it (a worker thread's process.env is a copy), so the stage
// runner applies these in the main thread before it starts a stage thread, and backend.ts again
// before loading the addon (inline stages, benches, tools). Kept free of TF.js imports so the
// runner does not load TF.js in the worker's main thread.
//  - TF_NUM_INTRAOP_THREADS defaults to 1. TF's default (one per core) spreads each of this
//    project's small ops over both cores of a 2-core machine and loses more to synchronisation than
//    it gains, and stages that run side by side then fight over the cores: `npm run demo` took
//    93–116 s with TF's default and 74–77 s with one thread (same machine, alternated); a pretrain
//    stage alone 32–38 s → 21 s. The thread count changes the last bits (a reduction's order), so it
//    is part of a checkpoint's numerics origin (backend.ts). Set it to use more threads for large
//    models on many cores.
//  - TF_CPP_MIN_LOG_LEVEL defaults to 2: TF's C++ info lines (oneDNN, CPU features) would land in
//    every worker log and CLI output; warnings and errors still show.
// An explicit value always wins. Exports: NATIVE_ENV_DEFAULTS, applyNativeEnvDefaults, tfIntraOpThreads.

export const NATIVE_ENV_DEFAULTS: Readonly<Record<string, string>> = { TF_NUM_INTRAOP_THREADS: '1', TF_CPP_MIN_LOG_LEVEL: '2' };

/** Sets each default that `env` (process.env: the main thread's reaches TF) does not set already. */
export function applyNativeEnvDefaults(env: NodeJS.ProcessEnv = process.env): void {
  for (const [k, v] of Object.entries(NATIVE_ENV_DEFAULTS)) env[k] ??= v;
}

/** The intra-op thread count TF runs with under `env` (0 when unset: TF's own default, one per core). */
export function tfIntraOpThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(n) && n > 0 ? n : 0;
}
