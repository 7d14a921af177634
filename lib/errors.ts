// The one catalogue of error types. The `type` strings are written into Temporal histories
// (ApplicationFailure.type), so they are contracts: add new ones, never rename.
// Every message says what was wrong, where, and what to do.

export const ErrorType = {
  /** The pipeline spec is invalid (schema, semantics, YAML). Never retried. */
  Spec: 'SpecError',
  /** A configuration problem found at run time (missing env var, bad path, missing input). Never retried. */
  Config: 'ConfigError',
  /** A path escapes its root, contains NUL, or is a URL. Never retried. */
  PathEscape: 'PathEscapeError',
  /** Loss or another training value became NaN/Inf. Never retried; weights are not published. */
  Divergence: 'DivergenceError',
  /** No intact checkpoint is left to resume from (all candidates failed their hashes). Never retried. */
  CheckpointCorrupt: 'CheckpointCorruptError',
  /** An artifact's files do not match its manifest. */
  ArtifactCorrupt: 'ArtifactCorruptError',
  /** A teacher endpoint refused our credentials (401/403). Never retried. */
  TeacherAuth: 'TeacherAuthError',
  /** A teacher endpoint failed in a way that may pass (429, 5xx, timeout). Retried. */
  TeacherUnavailable: 'TeacherUnavailableError',
  /** The disk is full (ENOSPC) while writing. Retried: space may be freed; the last good checkpoint stays. */
  StorageFull: 'StorageFullError',
  /** The stage was cancelled; its last checkpoint is kept. */
  Cancelled: 'CancelledError',
  /** A trainer subprocess (trainers/trl) exited without a result or an error line (killed, OOM, segfault). Retried: the checkpoint stays. */
  TrainerCrashed: 'TrainerCrashedError',
  /** A trainer subprocess broke the JSON-lines protocol (a non-JSON stdout line, an unknown message). Never retried: it is a bug. */
  TrainerProtocol: 'TrainerProtocolError',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

const NON_RETRYABLE: ReadonlySet<string> = new Set<string>([
  ErrorType.Spec,
  ErrorType.Config,
  ErrorType.PathEscape,
  ErrorType.Divergence,
  ErrorType.CheckpointCorrupt,
  ErrorType.ArtifactCorrupt,
  ErrorType.TeacherAuth,
  ErrorType.TrainerProtocol,
]);

export function isNonRetryable(type: string): boolean {
  return NON_RETRYABLE.has(type);
}

/** A typed engine error; activities turn it into an ApplicationFailure with the same type. */
export class ClgrpoError extends Error {
  readonly type: ErrorTypeName;
  readonly details: Record<string, unknown>;

  constructor(type: ErrorTypeName, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = type;
    this.type = type;
    this.details = options.details ?? {};
  }

  get nonRetryable(): boolean {
    return isNonRetryable(this.type);
  }
}
