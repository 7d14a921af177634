// Where a stage runs inside a worker process (its own worker thread, or inline on the worker's
// event loop) and how many stages a local worker runs at once by default. Pure helpers: the CLI
// (lib/cli) sizes its worker with them and activities/thread-runner.ts runs stages accordingly.
import { availableParallelism } from 'node:os';

type Env = Readonly<Record<string, string | undefined>>;

export type StageIsolation = 'thread' | 'inline';

/** CLGRPO_STAGE_ISOLATION=inline|thread wins (debugging), else the caller's choice, else 'thread'. */
export function stageIsolation(env: Env, requested?: StageIsolation): StageIsolation {
  const e = env.CLGRPO_STAGE_ISOLATION;
  if (e === 'inline' || e === 'thread') return e;
  return requested ?? 'thread';
}

/**
 * Stages a local worker runs at once per queue by default: one per core (capped at the plan's
 * maxParallel) when stages run in threads; 1 inline, where a second stage would only share the
 * one blocked thread.
 */
export function defaultStageConcurrency(env: Env, maxParallel?: number, cores = availableParallelism()): number {
  if (stageIsolation(env) === 'inline') return 1;
  return Math.max(1, Math.min(cores, maxParallel ?? cores));
}
