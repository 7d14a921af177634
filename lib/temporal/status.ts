// The pipeline workflow's interface as clients see it: its input, its result and the status its
// `status` query returns. Pure types (workflow-safe): the interpreter in workflows/ and the clients
// and run records in lib/ share one definition.
import type { DataFingerprint } from '../plan/effective-key';
import type { Plan } from '../plan/types';

export type StageState = 'pending' | 'running' | 'succeeded' | 'reused' | 'failed' | 'skipped' | 'cancelled';
export type PipelineState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StageStatus {
  id: string;
  kind: string;
  queue: string;
  state: StageState;
  attempt?: number;
  artifactId?: string;
  reused?: boolean;
  error?: { type?: string; message: string };
  /** Workflow time in ms since epoch. */
  startedAt?: number;
  endedAt?: number;
  summary?: Record<string, number | string>;
  /** The effective key the stage ran or was reused under, when data fingerprints changed it from the plan key. */
  key?: string;
  /** Data-reading stages: the fingerprint of what the worker found. */
  data?: DataFingerprint;
}

export interface PipelineStatus {
  pipeline: string;
  specHash: string;
  state: PipelineState;
  maxParallel: number;
  stages: StageStatus[];
}

export interface PipelineInput {
  plan: Plan;
  /** Finished stages carried over a continue-as-new. */
  carried?: Record<string, StageStatus>;
  /** History events after which the interpreter drains and continues as new (tests lower it). */
  historyLimit?: number;
}

export interface PipelineResult {
  status: PipelineStatus;
}
