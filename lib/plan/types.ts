// The Plan: what the compiler produces and the workflow executes. Plain JSON, small, no YAML.
// This file is a contract between lib/plan (writer), workflows/ (reader) and activities/ (reader):
// it must stay free of Node imports so the workflow bundle can use it.
import type { JsonObject, JsonValue } from '../canonical';
import type { ArtifactKind, StageKind } from '../spec/kinds';

// The kind lists are the spec's (lib/spec/kinds.ts, itself import-free); re-exported for readers of plans.
export { ARTIFACT_KINDS, STAGE_KINDS, type ArtifactKind, type StageKind } from '../spec/kinds';

export interface RetrySpec {
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

export interface TimeoutSpec {
  /** Whole-attempt limit. */
  startToCloseMs: number;
  /** A stage that does not heartbeat for this long is timed out and retried. */
  heartbeatMs: number;
}

/** Which upstream stage feeds which named input of a stage. */
export interface InputBinding {
  /** 'dataset' | 'model' | 'cot' | 'models' (eval takes several). */
  input: string;
  /** Plan stage id of the producer. */
  from: string;
  kind: ArtifactKind;
}

export interface PlanStage {
  /** Concrete id; matrix stages look like `clgrpo[clip.high=0.1]`. */
  id: string;
  /** The id in the spec this stage came from. */
  baseId: string;
  kind: StageKind;
  /** The matrix cell of this stage, when it came from a matrix (`{"clip.high": 0.1}`). */
  matrix?: Record<string, JsonValue>;
  /** Concrete ids of the stages that must finish first. */
  needs: string[];
  inputs: InputBinding[];
  /** Resolved params: defaults applied, overrides applied, validated. */
  params: JsonObject;
  /** Effective seed of this stage: the stage's `seed` (or a matrix cell's) else the plan seed. Part of the key. */
  seed: number;
  output: ArtifactKind;
  queue: string;
  retry: RetrySpec;
  timeouts: TimeoutSpec;
  /**
   * Reads files outside the store (an import, `pretrain.init`): the workflow fingerprints them on
   * the stage's queue before the reuse decision, and the stage and its dependents run under an
   * effective key that covers the fingerprint (lib/plan/effective-key.ts).
   */
  readsData?: true;
  /** sha256 hex of {kind, params, seed, input keys, code identity}; before data fingerprints. */
  key: string;
  /** The hashes of each component, so `plan` can say which one changed; `code` is the kind's code identity hash. */
  keyParts: { params: string; inputs: string; code: string };
}

export interface Plan {
  planVersion: 1;
  name: string;
  description?: string;
  /** sha256 of the canonical spec (after overrides). */
  specHash: string;
  seed: number;
  /** At most this many stages run at once. */
  maxParallel: number;
  /** Root that dataset `root`/`file` paths are relative to (spec `defaults.dataRoot`, default "data"). Additive, optional. */
  dataRoot?: string;
  /** Topological order. */
  stages: PlanStage[];
}
