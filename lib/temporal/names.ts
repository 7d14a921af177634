// Names written into Temporal histories and used by clients (never rename: their values are in
// recorded histories). Workflow-safe: no imports, so workflows/ imports this module too.

/** Workflow type of the Plan interpreter. */
export const PIPELINE_WORKFLOW = 'pipeline';
/** Default task queue of pipeline workflows (every `clgrpo worker` polls it, plus its stage queues). */
export const PIPELINE_TASK_QUEUE = 'clgrpo-pipelines';
/** Query returning PipelineStatus. */
export const STATUS_QUERY = 'status';
/** Activity writing the run record at the end of an execution. */
export const RECORD_RUN_ACTIVITY = 'recordRunResult';
/** Activity answering, for many stage keys at once, which already have an artifact (local activity at the start of an execution). */
export const LOOKUP_MANY_ACTIVITY = 'lookupStageArtifacts';
/** Activity fingerprinting a data-reading stage's files on its own queue, before the reuse decision. */
export const FINGERPRINT_ACTIVITY = 'fingerprintStageData';
/** patched() id of the data-fingerprint step (histories recorded before it replay without it). */
export const PATCH_DATA_FINGERPRINT = 'data-fingerprint';
/** patched() id: after a failure, a draining interpreter still continues as new for pending independent branches. */
export const PATCH_DRAIN_KEEPS_BRANCHES = 'drain-keeps-branches';
/**
 * patched() id: the stage-key lookups (one for all pending stages at the start, one per stage only
 * for keys that follow a data fingerprint) and the run record run as local activities on the
 * workflow worker; histories recorded before it replay with lookups as activities on the pipeline queue.
 */
export const PATCH_LOCAL_STORE_ACTIVITIES = 'local-store-activities';
/** Application failure type of a pipeline whose stages failed. */
export const PIPELINE_FAILED = 'PipelineFailedError';
/** Custom search attributes (Keyword), registered by `clgrpo server start`. */
export const SEARCH_ATTRIBUTES = { pipeline: 'ClgrpoPipeline', specHash: 'ClgrpoSpecHash' } as const;
/** Above this many history events the interpreter drains and continues as new. */
export const HISTORY_EVENTS_LIMIT = 20_000;
