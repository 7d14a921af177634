// Store-facing activities: the stage-key lookup the workflow makes before running a stage, input
// resolution for the stage wrapper, and the run record written when a workflow execution ends.
import { ClgrpoError, ErrorType } from '../lib/errors';
import type { ArtifactKind } from '../lib/plan/types';
import { finishRunRecord, type ArtifactStore, type Manifest, type RunStatus, type StageRecord } from '../lib/store';
import type { Plan } from '../lib/plan/types';
import { FINGERPRINT_ACTIVITY, LOOKUP_MANY_ACTIVITY, RECORD_RUN_ACTIVITY } from '../lib/temporal/names';
import type { JsonObject } from '../lib/canonical';
import type { DataFingerprint } from '../lib/plan/effective-key';
import { fingerprintStageReads } from '../lib/store/fingerprint';
import type { InputArtifact, ResolvedInput, StageActivityResult } from './types';

/** Activity names beyond the per-kind ones in ACTIVITY_NAMES (written into histories: never rename). */
export const STORE_ACTIVITY_NAMES = { recordRun: RECORD_RUN_ACTIVITY, fingerprint: FINGERPRINT_ACTIVITY, lookupMany: LOOKUP_MANY_ACTIVITY } as const;

export interface FingerprintInput {
  stageId: string;
  kind: string;
  params: JsonObject;
}

/**
 * The content fingerprint of what a data-reading stage will read, taken here on the worker that
 * serves the stage's queue (where the data is), with the stat cache under the store root.
 */
export function fingerprintStageData(store: ArtifactStore, env: Readonly<Record<string, string | undefined>>, input: Pick<FingerprintInput, 'kind' | 'params'>,
  onProgress?: (done: number, total: number) => void): DataFingerprint {
  return fingerprintStageReads(store.root, env, input.kind, input.params, onProgress);
}

export interface LookupInput {
  stageKey: string;
  stageId: string;
}

export interface RecordRunInput {
  workflowId: string;
  runId: string;
  status: RunStatus;
  stages: Record<string, StageRecord>;
  /** Only used when no record exists yet (a run started by another client). */
  plan?: Plan;
}

/** Metrics the CLI shows first (lib/cli/progress headline order); they lead a reused stage's summary. */
const HEADLINE_FIRST = ['loss', 'reward.total', 'reward', 'accuracy', 'keepRate', 'samples'];

/** Headline numbers for a reused artifact: the headline metrics, then others, at most 12. */
export function summaryOf(manifest: Manifest): Record<string, number | string> {
  const m = manifest.metrics ?? {};
  const keys = [...HEADLINE_FIRST.filter((k) => k in m), ...Object.keys(m).filter((k) => !HEADLINE_FIRST.includes(k))];
  return Object.fromEntries(keys.slice(0, 12).map((k) => [k, m[k]]));
}

export function reusedResult(store: ArtifactStore, artifactId: string): StageActivityResult {
  const m = store.readManifest(artifactId);
  return { artifactId, kind: m.kind, reused: true, summary: summaryOf(m) };
}

export function lookupStageArtifact(store: ArtifactStore, input: LookupInput): StageActivityResult | null {
  const id = store.lookupKey(input.stageKey);
  return id ? reusedResult(store, id) : null;
}

export interface LookupManyInput {
  stageKeys: string[];
}

/** The published artifact of each key that has one (keys without one are left out, keeping the result small). */
export function lookupStageArtifacts(store: ArtifactStore, input: LookupManyInput): Record<string, StageActivityResult> {
  const out: Record<string, StageActivityResult> = {};
  for (const key of new Set(input.stageKeys)) {
    const id = store.lookupKey(key);
    if (id) out[key] = reusedResult(store, id);
  }
  return out;
}

/** Input artifact ids → published directories + manifests; a missing one is a config error. */
export function resolveInputs(store: ArtifactStore, inputs: InputArtifact[]): ResolvedInput[] {
  return inputs.map((i) => {
    if (!store.has(i.artifactId)) {
      throw new ClgrpoError(ErrorType.Config, `input '${i.input}' (from stage '${i.from}') names artifact ${i.artifactId}, which is not in the store at ${store.root}; workers must share one CLGRPO_HOME`, {
        details: { input: i.input, from: i.from, artifactId: i.artifactId },
      });
    }
    const manifest = store.readManifest(i.artifactId);
    return { ...i, kind: manifest.kind as ArtifactKind, dir: store.artifactDir(i.artifactId), manifest: manifest as unknown as ResolvedInput['manifest'] };
  });
}

export function recordRunResult(store: ArtifactStore, input: RecordRunInput): void {
  finishRunRecord(store, input.workflowId, input.runId, input.status, input.stages, input.plan);
}
