// Located spec errors: the one shape every spec problem takes (YAML syntax, schema, semantics,
// compile), how it is printed (`file:line:col path: message`), sorted and wrapped into a thrown
// SpecError. Values shown in messages go through `showValue`, which never prints a secret.
import { ClgrpoError, ErrorType, type ErrorTypeName } from '../errors';

export interface LocatedError {
  /** Error type from lib/errors: SpecError, or PathEscapeError for a path that escapes its root. */
  type: ErrorTypeName;
  severity: 'error' | 'warning';
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Dotted path into the spec (`stages.sft.params.lr`); '' for the whole document. */
  path: string;
  message: string;
  /** How to fix it ("did you mean …", the allowed values). */
  hint?: string;
  /** Offset into the text, for sorting. */
  offset: number;
}

export type Problem = Omit<LocatedError, 'file' | 'line' | 'col' | 'offset'>;

/** JSON pointer segments → `stages.sft.params.teachers[1].model`. */
export function dottedPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${s}` : s;
  }
  return out;
}

export function formatLocated(e: LocatedError): string {
  const where = `${e.file}:${e.line}:${e.col}`;
  const tag = e.severity === 'warning' ? 'warning: ' : '';
  const hint = e.hint ? ` (${e.hint})` : '';
  return `${where} ${e.path ? `${e.path}: ` : ''}${tag}${e.message}${hint}`;
}

export function sortLocated(errors: LocatedError[]): LocatedError[] {
  return [...errors].sort((a, b) => a.file.localeCompare(b.file) || a.offset - b.offset || a.line - b.line
    || a.col - b.col || a.message.localeCompare(b.message));
}

/** Strings that look like credentials: OpenAI/Anthropic-style keys, GitHub, AWS, Slack, bearer tokens. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/,
  /\bgh[pousr]_[A-Za-z0-9]{16,}/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\bxox[abposr]-[A-Za-z0-9-]{8,}/,
  /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/,
  /\bhf_[A-Za-z0-9]{16,}/,
];

export function looksLikeSecret(s: string): boolean {
  return SECRET_PATTERNS.some((re) => re.test(s));
}

/** A name (key, stage id) as shown in a message: long ones are cut so a pasted blob cannot flood the output. */
export function shortName(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

/** A value as shown in a message: short, JSON-ish, secrets redacted. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') {
    if (looksLikeSecret(v)) return `<redacted secret, ${v.length} chars>`;
    const s = JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    return s;
  }
  if (v === undefined) return 'nothing';
  if (v !== null && typeof v === 'object') {
    const s = JSON.stringify(v);
    return looksLikeSecret(s) ? '<redacted>' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}

/** The error thrown when a spec cannot be loaded or compiled; `details.errors` holds every problem. */
export class SpecError extends ClgrpoError {
  readonly errors: LocatedError[];
  constructor(errors: LocatedError[]) {
    const list = sortLocated(errors).filter((e) => e.severity === 'error');
    const head = list.slice(0, 20).map(formatLocated).join('\n');
    const more = list.length > 20 ? `\n... and ${list.length - 20} more` : '';
    super(ErrorType.Spec, `invalid pipeline spec (${list.length} problem${list.length === 1 ? '' : 's'}):\n${head}${more}`,
      { details: { errors: list.map(({ offset: _o, ...rest }) => rest) } });
    this.errors = list;
  }
}
