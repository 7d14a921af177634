// The hook through which `clgrpo plan` shows run/reuse/resume decisions. The spec layer knows no
// store, so by default every stage is "run"; the runtime passes a `decide` backed by the store
// (a stage key with a published artifact → reuse; a work dir with a checkpoint → resume).
import type { PlanStage } from './types';

export interface Decision {
  action: 'run' | 'reuse' | 'resume';
  /** Why, in a few words: "artifact 3f2a… exists", "checkpoint at step 50", "params changed". */
  reason: string;
  /** The artifact reused, when action is reuse. */
  artifactId?: string;
  /** The effective key decided on, when the decider knows it (data fingerprints can move it off the plan key). */
  key?: string;
}

export type DecideFn = (stage: PlanStage) => Decision | Promise<Decision>;

export const runEverything: DecideFn = () => ({ action: 'run', reason: 'no store consulted' });
