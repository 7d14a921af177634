// How activity errors cross into Temporal: a ClgrpoError becomes an ApplicationFailure with the
// same `type` and retryability (lib/errors is the one catalogue); ENOSPC becomes StorageFull; any
// secret value from the worker's environment is redacted from messages before they reach history.
import { ApplicationFailure } from '@temporalio/common';
import { ClgrpoError, ErrorType, isNonRetryable } from '../lib/errors';

type Env = Readonly<Record<string, string | undefined>>;

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH/i;

/**
 * Replaces the value of every secret-looking environment variable (8+ chars) with [redacted], also
 * in its JSON-escaped form (details and lineage are redacted as JSON text, where a `"` or `\` in
 * the value is escaped). Redact before shortening a text, never after: a cut through a secret
 * leaves a piece no redaction can recognise.
 */
export function redactSecrets(text: string, env: Env): string {
  let out = text;
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < 8 || !SECRET_NAME.test(name)) continue;
    const escaped = JSON.stringify(value).slice(1, -1);
    for (const form of escaped === value ? [value] : [value, escaped]) out = out.split(form).join(`[redacted:${name}]`);
  }
  return out;
}

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A sanitized copy of an error chain (message + stack only), so no secret rides along in `cause`. */
function sanitize(err: unknown, env: Env, depth = 0): Error | undefined {
  if (!(err instanceof Error) || depth > 4) return undefined;
  const copy = new Error(redactSecrets(err.message, env), { cause: sanitize(err.cause, env, depth + 1) });
  copy.name = err.name;
  copy.stack = err.stack ? redactSecrets(err.stack, env) : undefined;
  return copy;
}

export function toApplicationFailure(err: unknown, env: Env, where: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ClgrpoError) {
    return ApplicationFailure.create({
      message: redactSecrets(err.message, env), type: err.type, nonRetryable: err.nonRetryable,
      details: [JSON.parse(redactSecrets(JSON.stringify(err.details ?? {}), env))], cause: sanitize(err.cause, env),
    });
  }
  if (errnoCode(err) === 'ENOSPC') {
    return ApplicationFailure.create({
      message: `${where}: the disk is full (ENOSPC) while writing; free space and the stage retries from its last good checkpoint`,
      type: ErrorType.StorageFull, nonRetryable: isNonRetryable(ErrorType.StorageFull), cause: sanitize(err, env),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  // Unknown errors stay retryable: the stage's retry policy bounds them.
  return ApplicationFailure.create({ message: redactSecrets(`${where}: ${message}`, env), type: err instanceof Error ? err.name : 'Error', cause: sanitize(err, env) });
}
