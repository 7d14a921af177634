// Schema validation of a parsed spec: ajv (JSON Schema 2020-12) in strict mode, every error at
// once, no coercion, no defaults written into the data, no `$data`. Ajv's errors are translated into
// problems that say what to change: unknown keys get "did you mean", enums list their values, and
// the noise ajv adds around if/then and anyOf is folded away.
// Compiling the schema costs ~0.3 s per process (loading ajv, generating and compiling its code),
// a fifth of a reused `clgrpo run`: the generated code is kept as a module in the disk cache
// (ajv's standalone output, keyed by the schema, ajv's version and the options), which loads in
// ~8 ms; ajv itself is loaded only to regenerate it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import schemaJson from '../../schemas/pipeline.v1.schema.json';
import { cacheDir, publishCached } from '../disk-cache';
import { shortName, showValue } from './located';
import { suggestion } from './suggest';

export const PIPELINE_SCHEMA = schemaJson as Record<string, unknown>;
export const SCHEMA_ID = schemaJson.$id;

/** A schema problem before it is located: a JSON pointer and whether the key or the value is wrong. */
export interface SchemaProblem {
  pointer: string;
  at: 'key' | 'value';
  message: string;
  hint?: string;
  /** For a missing required key: its name. */
  missing?: string;
}

// strict: unknown keywords, ambiguous types and ignored defaults in the schema are bugs.
// verbose: errors carry the offending data and the schema, which the messages quote.
const AJV_OPTIONS = { strict: true, allErrors: true, verbose: true, $data: false, coerceTypes: false,
  useDefaults: false, removeAdditional: false, allowUnionTypes: true } as const;
const DEFS = Object.keys((schemaJson as { $defs: Record<string, unknown> }).$defs);
/** Bumped when what the cached module exports changes. */
const FORMAT = 'clgrpo-spec-validator/1';
const PREFIX = 'spec-validator-';

/** The whole spec's validator and one per `$defs` entry (matrix cells check their kind's params alone). */
interface Validators { main: ValidateFunction; defs: Record<string, ValidateFunction> }
let validators: Validators | undefined;

/** Where the generated module for this schema, ajv version and options lives. */
export function validatorCacheFile(root?: string): string {
  const ajvVersion = (JSON.parse(readFileSync(require.resolve('ajv/package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256').update(`${FORMAT}\0${ajvVersion}\0${JSON.stringify(AJV_OPTIONS)}\0${JSON.stringify(schemaJson)}`).digest('hex');
  return join(cacheDir(root), `${PREFIX}${key.slice(0, 32)}.js`);
}

/** Compiles the schema with ajv, and writes the generated code as a module for the next processes. */
export function compileValidators(file?: string): Validators {
  // loaded only when the cache misses
  const { default: Ajv } = require('ajv/dist/2020') as { default: typeof Ajv2020 };
  const { default: standaloneCode } = require('ajv/dist/standalone') as { default: (ajv: Ajv2020, refs: Record<string, string>) => string };
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const main = ajv.compile(PIPELINE_SCHEMA);
  const defs = Object.fromEntries(DEFS.map((d) => [d, ajv.getSchema(`${SCHEMA_ID}#/$defs/${d}`) as ValidateFunction]));
  if (file) publishCached(file, PREFIX, standaloneCode(ajv, { main: SCHEMA_ID, ...Object.fromEntries(DEFS.map((d) => [`def_${d}`, `${SCHEMA_ID}#/$defs/${d}`])) }));
  return { main, defs };
}

/** The cached module's validators, or a fresh compile (written back) when there is none. */
function loadValidators(): Validators {
  const file = validatorCacheFile();
  if (existsSync(file)) {
    try {
      const m = require(file) as Record<string, ValidateFunction>;
      if (typeof m.main === 'function' && DEFS.every((d) => typeof m[`def_${d}`] === 'function')) {
        return { main: m.main, defs: Object.fromEntries(DEFS.map((d) => [d, m[`def_${d}`]])) };
      }
    } catch {
      // unreadable or half-written by an older version: regenerate below
    }
  }
  return compileValidators(file);
}

function loaded(): Validators {
  validators ??= loadValidators();
  return validators;
}

function escapeSeg(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

type S = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeHint(want: string, data: unknown): string | undefined {
  if (typeof data === 'string' && (want === 'number' || want === 'integer') && data.trim() !== '' && Number.isFinite(Number(data))) {
    return `write the number without quotes: ${data.trim()}`;
  }
  if (want === 'integer' && typeof data === 'number') return `use a whole number such as ${Math.round(data)}`;
  if (want === 'array' && data !== null && typeof data !== 'object') return `write a list: [${showValue(data)}]`;
  return undefined;
}

const TYPE_WORDS: Record<string, string> = { array: 'a list', object: 'a map', integer: 'an integer', number: 'a number',
  string: 'a string', boolean: 'true or false', null: 'null' };

function translate(e: ErrorObject): SchemaProblem {
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as S;
  const got = `got ${showValue(e.data)}`;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((parent.properties ?? {}) as S);
      return { pointer: `${e.instancePath}/${escapeSeg(key)}`, at: 'key', message: `unknown key '${shortName(key)}'`, hint: suggestion(key, allowed) };
    }
    case 'required': {
      const key = String(p.missingProperty);
      const prop = ((parent.properties ?? {}) as Record<string, S>)[key];
      const desc = prop?.description;
      if (Array.isArray(prop?.enum)) {
        return { pointer: e.instancePath, at: 'key', message: `missing required key '${key}'`, hint: `add ${key}: one of ${prop.enum.join(', ')}`, missing: key };
      }
      return { pointer: e.instancePath, at: 'key', message: `missing required key '${key}'`, missing: key,
        hint: `add ${key}: ...${typeof desc === 'string' ? ` (${desc.replace(/\s*Required[^.]*\./, '').trim()})` : ''}` };
    }
    case 'enum': {
      const allowed = (e.schema as unknown[]).map(String);
      return { pointer: e.instancePath, at: 'value', message: `must be one of ${allowed.join(', ')} (${got})`,
        hint: suggestion(String(e.data), allowed) };
    }
    case 'const':
      return { pointer: e.instancePath, at: 'value', message: `must be ${showValue(e.schema)} (${got})`,
        hint: `this version reads only ${showValue(e.schema)}` };
    case 'type': {
      const want = String(p.type).split(',')[0];
      return { pointer: e.instancePath, at: 'value', message: `must be ${TYPE_WORDS[want] ?? want} (got ${typeOf(e.data)} ${showValue(e.data)})`,
        hint: typeHint(want, e.data) };
    }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const op = { minimum: '≥', maximum: '≤', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
      return { pointer: e.instancePath, at: 'value', message: `must be ${op} ${String(p.limit)} (${got})`,
        hint: `use a value ${op} ${String(p.limit)}` };
    }
    case 'pattern':
      return { pointer: e.instancePath, at: 'value', message: `must match ${String(p.pattern)} (${got})`, hint: patternHint(e.instancePath) };
    case 'propertyNames':
      return { pointer: `${e.instancePath}/${escapeSeg(String(p.propertyName))}`, at: 'key',
        message: `invalid name '${shortName(String(p.propertyName))}'`, hint: nameHint(e.instancePath) };
    case 'maxLength': case 'minLength':
      return { pointer: e.instancePath, at: 'value', message: `must be ${e.keyword === 'maxLength' ? 'at most' : 'at least'} ${String(p.limit)} characters long (got ${String(typeof e.data === 'string' ? e.data.length : '?')})` };
    case 'maxItems': case 'minItems':
      return { pointer: e.instancePath, at: 'value', message: `must have ${e.keyword === 'maxItems' ? 'at most' : 'at least'} ${String(p.limit)} items (got ${Array.isArray(e.data) ? e.data.length : '?'})` };
    case 'maxProperties': case 'minProperties':
      return { pointer: e.instancePath, at: 'value', message: `must have ${e.keyword === 'maxProperties' ? 'at most' : 'at least'} ${String(p.limit)} entries (got ${e.data && typeof e.data === 'object' ? Object.keys(e.data).length : '?'})` };
    case 'uniqueItems':
      return { pointer: e.instancePath, at: 'value', message: `items ${String(p.j)} and ${String(p.i)} are the same`, hint: 'remove the duplicate' };
    default:
      return { pointer: e.instancePath, at: 'value', message: e.message ?? e.keyword };
  }
}

function patternHint(ptr: string): string | undefined {
  if (ptr.endsWith('/apiKeyEnv')) return 'name an environment variable such as TEACHER_KEY, never the key itself';
  if (ptr.endsWith('/baseUrl')) return 'an http(s) URL such as http://127.0.0.1:8000/v1';
  if (/\/(initialInterval|maximumInterval|startToClose|heartbeat)$/.test(ptr)) return 'a duration such as "90s", "15m", "2h"';
  if (ptr === '/name') return 'lower-case letters, digits, - and _, starting with a letter';
  return undefined;
}

function nameHint(ptr: string): string {
  if (ptr === '/stages') return 'stage ids are lower-case letters, digits and _, starting with a letter, at most 63 characters';
  if (ptr.endsWith('/matrix')) return 'matrix keys are a param path such as clip.high, or seed';
  return 'check the allowed names';
}

/** anyOf: keep the errors of branches whose type fits the data; when none fits, one error listing them. */
function foldAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  const add: ErrorObject[] = [];
  for (const any of errors.filter((e) => e.keyword === 'anyOf')) {
    drop.add(any);
    const branches = new Map<number, ErrorObject[]>();
    for (const e of errors) {
      const m = e.schemaPath.startsWith(`${any.schemaPath}/`) ? /^\/(\d+)\//.exec(e.schemaPath.slice(any.schemaPath.length)) : null;
      if (m) branches.set(Number(m[1]), [...(branches.get(Number(m[1])) ?? []), e]);
    }
    const mismatched = [...branches].filter(([, es]) => es.some((e) => e.instancePath === any.instancePath && e.keyword === 'type'));
    for (const [, es] of mismatched) es.forEach((e) => drop.add(e));
    if (mismatched.length === branches.size) {
      const options = ((any.schema ?? []) as S[]).map((b) => String(b.description ?? b.type ?? 'a value'));
      add.push({ ...any, keyword: 'anyOfNone', message: `must be one of: ${options.join(' or ')}` });
    }
  }
  return [...errors.filter((e) => !drop.has(e)), ...add];
}

export function validateSchema(value: unknown): SchemaProblem[] {
  const validate = loaded().main;
  if (validate(value)) return [];
  // A bad property name yields a propertyNames error plus the inner pattern error: keep the first.
  const errors = foldAnyOf((validate.errors ?? []).filter((e) => e.keyword !== 'if' && !e.schemaPath.includes('/propertyNames/')));
  return errors.map((e) => (e.keyword === 'anyOfNone'
    ? { pointer: e.instancePath, at: 'value' as const, message: `${e.message ?? ''} (got ${showValue(e.data)})` }
    : translate(e)));
}

/** Validate one kind's params (a matrix cell, say) against `#/$defs/<def>`; pointers are relative to the params. */
export function validateParamsDef(def: string, value: unknown): SchemaProblem[] {
  const v = loaded().defs[def];
  if (!v) throw new Error(`schema has no $defs/${def}`);
  if (v(value)) return [];
  return foldAnyOf((v.errors ?? []).filter((e) => e.keyword !== 'if')).map((e) => (e.keyword === 'anyOfNone'
    ? { pointer: e.instancePath, at: 'value' as const, message: `${e.message ?? ''} (got ${showValue(e.data)})` }
    : translate(e)));
}
