// Canonical JSON and hashing: the one way the project turns values into stable bytes.
// Stage keys, spec hashes and artifact ids all go through here, so two equal values always
// hash alike whatever their key order or number spelling.
import { createHash } from 'node:crypto';

export { canonicalJson, type JsonObject, type JsonValue } from './canonical-json';
import { canonicalJson } from './canonical-json';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of the canonical JSON of a value. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
