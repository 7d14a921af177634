// Stage types: the contract between the workflow, the activity wrapper (activities/index.ts) and
// the per-kind stage implementations (activities/<kind>.ts, lib/ml). Payloads are small: artifact
// ids, never blobs. Pure types and names, no imports with side effects: workflows/ reads it too.
import type { JsonObject, JsonValue } from '../canonical';
import type { DataFingerprint } from '../plan/effective-key';
import type { ArtifactKind, StageKind } from '../plan/types';

/** Names written into Temporal histories: never rename. */
export const ACTIVITY_NAMES = {
  lookup: 'lookupStageArtifact',
  dataset: 'runDatasetStage',
  pretrain: 'runPretrainStage',
  cot: 'runCotStage',
  sft: 'runSftStage',
  grpo: 'runGrpoStage',
  eval: 'runEvalStage',
  model: 'runModelStage',
} as const;

export interface RunInfo {
  runId: string;
  workflowId: string;
  pipeline: string;
  specHash: string;
  seed: number;
}

export interface StageRef {
  id: string;
  kind: StageKind;
  key: string;
  params: JsonObject;
  /** Effective seed of the stage (PlanStage.seed): derive every random stream from it with lib/rng. */
  seed: number;
  matrix?: Record<string, JsonValue>;
  /** The plan's key when `key` is an effective key that covers data fingerprints. */
  planKey?: string;
  /** The code identity hash the plan's key was made with: the worker refuses to run other code under it. */
  code?: string;
  /** The fingerprint of the data this stage reads (data-reading stages only). */
  data?: DataFingerprint;
}

export interface InputArtifact {
  input: string;
  from: string;
  artifactId: string;
}

/** Input of every stage activity. */
export interface StageActivityInput {
  run: RunInfo;
  stage: StageRef;
  inputs: InputArtifact[];
}

/** Result of every stage activity (and of lookup when found). */
export interface StageActivityResult {
  artifactId: string;
  kind: ArtifactKind;
  /** True when an artifact with this stage key already existed and nothing ran. */
  reused: boolean;
  /** A few headline numbers for the CLI summary. */
  summary: Record<string, number | string>;
}

/** What a stage reports in each heartbeat. `step`/`total` are in the stage's own unit. */
export interface ProgressDetails {
  step: number;
  total: number;
  /** Relative path (inside the stage work dir) of the newest checkpoint, if any. */
  checkpoint?: string;
  metrics?: Record<string, number>;
  /** Free text shown by the CLI: 'sampling', 'writing artifact'... */
  phase?: string;
}

export interface Logger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

export interface ResolvedInput extends InputArtifact {
  kind: ArtifactKind;
  /** Absolute directory of the published artifact (read only). */
  dir: string;
  manifest: JsonObject;
}

/**
 * What a stage implementation gets. It never touches Temporal directly, so it can be tested
 * without a server; activities/index.ts builds it from the activity Context.
 */
export interface StageContext {
  run: RunInfo;
  stage: StageRef;
  inputs: ResolvedInput[];
  /** Empty staging directory: write the artifact's files here; the wrapper publishes it. */
  outDir: string;
  /** Persistent per-stage-key directory (checkpoints, memo); survives retries, crashes and reruns. */
  workDir: string;
  attempt: number;
  workerIdentity: string;
  /** Details of the last heartbeat of a previous attempt: a hint only; verify against disk. */
  previousProgress?: ProgressDetails;
  heartbeat(details: ProgressDetails): void;
  /** Aborted when the run is cancelled or the worker shuts down; check it at every step. */
  signal: AbortSignal;
  log: Logger;
  /** Environment the worker was started with (teacher keys are looked up here by name). */
  env: Readonly<Record<string, string | undefined>>;
}

/** What a stage implementation returns; the wrapper adds it to the manifest. */
export interface StageOutput {
  kind: ArtifactKind;
  metrics: Record<string, number>;
  /** Extra lineage facts: backend, teachers, prompt hash... (no secrets). */
  lineage?: JsonObject;
  /** Headline numbers for the CLI. */
  summary?: Record<string, number | string>;
}

export type StageImplementation = (ctx: StageContext) => Promise<StageOutput>;
