// The messages between the activity wrapper and a stage worker thread, and how an error crosses
// the thread boundary: a structured clone keeps neither the class nor `type`/`details` of a
// ClgrpoError, nor an errno `code`, so errors travel as plain records and are rebuilt in the parent,
// where the ApplicationFailure mapping (activities/failures.ts) sees the same error as inline.
import { ClgrpoError, ErrorType, type ErrorTypeName } from '../lib/errors';
import type { StageKind } from '../lib/plan/types';
import type { ProgressDetails, StageContext, StageOutput } from './types';

/** The serializable part of a StageContext (functions and the signal are rebuilt in the thread). */
export type ThreadStageContext = Pick<StageContext, 'run' | 'stage' | 'inputs' | 'outDir' | 'workDir' | 'attempt' | 'workerIdentity' | 'previousProgress'> & {
  env: Record<string, string>;
};

export interface ThreadWorkerData {
  kind: StageKind;
  ctx: ThreadStageContext;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** ClgrpoError type (a catalogue name) when the error was one. */
  type?: string;
  details?: Record<string, unknown>;
  /** errno code (ENOSPC...) */
  code?: string;
  cause?: SerializedError;
}

/** Thread → parent. */
export type ThreadMessage =
  | { type: 'heartbeat'; details: ProgressDetails }
  | { type: 'log'; level: LogLevel; msg: string; meta?: Record<string, unknown> }
  | { type: 'done'; output: StageOutput }
  | { type: 'error'; error: SerializedError };

/** Parent → thread (on the control port). */
export interface AbortMessage {
  type: 'abort';
  reason: string;
}

const CATALOGUE: ReadonlySet<string> = new Set(Object.values(ErrorType));

/** A JSON-safe copy (details and meta may hold anything; what cannot be cloned is dropped). */
export function jsonSafe<T>(v: T): T | undefined {
  try {
    return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as T);
  } catch {
    return undefined;
  }
}

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: SerializedError = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof ClgrpoError) {
    out.type = err.type;
    out.details = jsonSafe(err.details) ?? {};
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string') out.code = code;
  if (err.cause !== undefined && depth < 4) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** The parent-side error: a ClgrpoError again when `type` is a catalogue name, else a plain Error. */
export function deserializeError(s: SerializedError): Error {
  const cause = s.cause ? deserializeError(s.cause) : undefined;
  let err: Error;
  if (s.type && CATALOGUE.has(s.type)) {
    err = new ClgrpoError(s.type as ErrorTypeName, s.message, { details: s.details, cause });
  } else {
    err = new Error(s.message, cause === undefined ? undefined : { cause });
    err.name = s.name;
    if (s.code) (err as NodeJS.ErrnoException).code = s.code;
  }
  if (s.stack) err.stack = s.stack;
  return err;
}
