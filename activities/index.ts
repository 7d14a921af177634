// createActivities(deps): every activity the worker registers, built from injected dependencies
// (store, logger, environment, and optionally the stage implementations, which tests inject).
// The per-kind wrapper makes stages idempotent by stage key, builds the StageContext, runs the stage
// (registry implementations in a worker thread by default, see thread-runner.ts; injected ones
// inline, since functions cannot cross threads), publishes the output atomically and turns errors
// into typed ApplicationFailures.
import { Context } from '@temporalio/activity';
import type { StageKind } from '../lib/plan/types';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { codeVersion, type ArtifactStore } from '../lib/store';
import { buildStageContext } from './context';
import { redactSecrets, toApplicationFailure } from './failures';
import {
  STORE_ACTIVITY_NAMES, fingerprintStageData, lookupStageArtifact, lookupStageArtifacts, recordRunResult, resolveInputs, reusedResult,
  type FingerprintInput, type LookupInput, type LookupManyInput, type RecordRunInput,
} from './store';
import type { DataFingerprint } from '../lib/plan/effective-key';
import { checkCodeIdentity, checkDataUnchanged, provenanceLineage } from '../lib/stage/provenance';
import { availableStageKinds, loadStageImplementation } from './registry';
import { runStageInThread, stageIsolation, type StageIsolation } from './thread-runner';
import { ACTIVITY_NAMES, type Logger, type StageActivityInput, type StageActivityResult, type StageImplementation, type StageOutput } from './types';

export { availableStageKinds, loadStageImplementation } from './registry';

type Env = Readonly<Record<string, string | undefined>>;

export interface ActivityDeps {
  store: ArtifactStore;
  log: Logger;
  env: Env;
  /** Stage implementations by kind; missing kinds are loaded from activities/<kind>.ts. */
  stages?: Partial<Record<StageKind, StageImplementation>>;
  /**
   * Where registry implementations run: 'thread' (default: a worker thread per stage attempt) or
   * 'inline' (the worker's main thread). CLGRPO_STAGE_ISOLATION in `env` overrides it.
   */
  isolation?: StageIsolation;
  /** Thread mode: how long a cancelled stage gets to checkpoint before its thread is terminated. */
  abortGraceMs?: number;
}

/** The stage result plus the attempt that produced it (for the run record). */
export interface StageRunResult extends StageActivityResult {
  attempt: number;
}

export function createActivities(deps: ActivityDeps) {
  const { store, log, env } = deps;
  const cache = new Map<StageKind, Promise<StageImplementation>>();
  const isolation = stageIsolation(env, deps.isolation);
  const implFor = async (kind: StageKind): Promise<StageImplementation> => {
    const injected = deps.stages?.[kind];
    if (injected) return injected;
    if (isolation === 'thread') {
      // Fail before staging anything when the kind is missing, as inline loading does.
      if (!availableStageKinds().includes(kind)) {
        throw new ClgrpoError(ErrorType.Config, `stage kind '${kind}' is not available in this build (no activities/${kind}.ts)`);
      }
      return (ctx) => runStageInThread(kind, ctx, { abortGraceMs: deps.abortGraceMs });
    }
    if (!cache.has(kind)) cache.set(kind, loadStageImplementation(kind));
    return cache.get(kind) as Promise<StageImplementation>;
  };

  async function runStage(kind: StageKind, input: StageActivityInput): Promise<StageRunResult> {
    const actx = Context.current();
    const attempt = actx.info.attempt;
    const where = `stage '${input.stage.id}' (${kind}, attempt ${attempt})`;
    // Idempotency: a repeat (lost completion, second run) returns the published artifact.
    const existing = store.lookupKey(input.stage.key);
    if (existing) {
      store.cleanStagingOf(input.stage.key); // leftovers of attempts killed before this key was published
      return { ...reusedResult(store, existing), attempt };
    }
    let outDir: string | undefined;
    try {
      // Injected implementations are test doubles, not the files: only real ones answer for the code.
      const code = checkCodeIdentity(store.root, kind, deps.stages?.[kind] ? undefined : input.stage.code);
      const impl = await implFor(kind);
      const { ctx, heartbeats } = buildStageContext(actx, input, resolveInputs(store, input.inputs), store, log, env);
      outDir = ctx.outDir;
      let out: StageOutput;
      try {
        out = await impl(ctx);
      } finally {
        heartbeats.flush();
      }
      if (input.stage.data) checkDataUnchanged(input.stage.id, input.stage.data, fingerprintStageData(store, env, input.stage));
      const pub = store.publish(ctx.outDir, {
        kind: out.kind,
        producer: {
          runId: input.run.runId, workflowId: input.run.workflowId, pipeline: input.run.pipeline, stageId: input.stage.id,
          stageKind: kind, stageKey: input.stage.key, attempt, workerIdentity: ctx.workerIdentity,
        },
        inputs: input.inputs.map((i) => ({ input: i.input, from: i.from, artifactId: i.artifactId })),
        specHash: input.run.specHash, params: input.stage.params, seed: input.stage.seed, codeVersion: codeVersion(),
        metrics: out.metrics,
        lineage: { ...JSON.parse(redactSecrets(JSON.stringify(out.lineage ?? {}), env)), ...provenanceLineage(code, input.stage.planKey, input.stage.data) },
        createdAt: new Date().toISOString(),
      });
      outDir = undefined;
      const stale = store.cleanStagingOf(input.stage.key);
      if (stale) log.info(`${where}: removed ${stale} staging dir(s) of killed attempts`);
      log.info(`${where}: published ${pub.id}${pub.reused ? ' (another attempt published first)' : ''}`);
      return { artifactId: pub.id, kind: pub.manifest.kind, reused: pub.reused, summary: out.summary ?? out.metrics, attempt };
    } catch (err) {
      if (actx.cancellationSignal.aborted) throw actx.cancellationSignal.reason ?? err;
      log.warn(`${where} failed: ${redactSecrets(err instanceof Error ? err.message : String(err), env)}`);
      throw toApplicationFailure(err, env, where);
    } finally {
      if (outDir) store.discardStaging(outDir); // the dir and its lease: a failed attempt leaves nothing behind
    }
  }

  const stageActivity = (kind: StageKind) => (input: StageActivityInput) => runStage(kind, input);
  return {
    [ACTIVITY_NAMES.lookup]: async (input: LookupInput): Promise<StageActivityResult | null> => lookupStageArtifact(store, input),
    [STORE_ACTIVITY_NAMES.lookupMany]: async (input: LookupManyInput): Promise<Record<string, StageActivityResult>> => lookupStageArtifacts(store, input),
    [STORE_ACTIVITY_NAMES.recordRun]: async (input: RecordRunInput): Promise<void> => recordRunResult(store, input),
    [STORE_ACTIVITY_NAMES.fingerprint]: async (input: FingerprintInput): Promise<DataFingerprint> => {
      const actx = Context.current();
      try {
        return fingerprintStageData(store, env, input, (done, total) => actx.heartbeat({ step: done, total, phase: 'fingerprinting' }));
      } catch (err) {
        throw toApplicationFailure(err, env, `fingerprint of stage '${input.stageId}'`);
      }
    },
    [ACTIVITY_NAMES.dataset]: stageActivity('dataset'),
    [ACTIVITY_NAMES.pretrain]: stageActivity('pretrain'),
    [ACTIVITY_NAMES.cot]: stageActivity('cot'),
    [ACTIVITY_NAMES.sft]: stageActivity('sft'),
    [ACTIVITY_NAMES.grpo]: stageActivity('grpo'),
    [ACTIVITY_NAMES.eval]: stageActivity('eval'),
    [ACTIVITY_NAMES.model]: stageActivity('model'),
  };
}

export type Activities = ReturnType<typeof createActivities>;
