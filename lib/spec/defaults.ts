// Resolved params: the schema's `default`s applied (the schema is the only place defaults live),
// the clgrpo alias's ClipLow defaults, and the normal forms that make equal configurations hash
// alike (`rewards: [format]` → `[{name: format, weight: 1}]`). Activities never apply defaults.
import type { JsonObject, JsonValue } from '../canonical';
import { CLGRPO_DEFAULTS, planKind, trainerOf, type SpecKind, type StageKind } from './kinds';
import { PIPELINE_SCHEMA } from './schema';

type S = Record<string, unknown>;
const DEFS = PIPELINE_SCHEMA.$defs as Record<string, S>;

export const PARAMS_DEF: Record<StageKind, string> = {
  dataset: 'datasetParams', pretrain: 'pretrainParams', cot: 'cotParams', sft: 'sftParams', grpo: 'grpoParams', eval: 'evalParams',
  model: 'modelParams',
};

function clone<T extends JsonValue>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function fits(s: S, v: unknown): boolean {
  if (Array.isArray(s.enum)) return s.enum.includes(v);
  if ('const' in s) return s.const === v;
  const t = s.type;
  if (t === 'object') return v !== null && typeof v === 'object' && !Array.isArray(v);
  if (t === 'array') return Array.isArray(v);
  if (t === 'string') return typeof v === 'string';
  return true;
}

/** The schema that applies to a value: $ref followed, the anyOf branch that fits, the if/then branch that matches. */
export function schemaFor(s: S, v: unknown): S {
  if (typeof s.$ref === 'string') return schemaFor(DEFS[s.$ref.replace('#/$defs/', '')], v);
  if (Array.isArray(s.anyOf)) return schemaFor((s.anyOf as S[]).find((b) => fits(schemaFor(b, v), v)) ?? {}, v);
  if (Array.isArray(s.allOf) && v !== null && typeof v === 'object') {
    for (const b of s.allOf as S[]) {
      const cond = ((b.if as S | undefined)?.properties ?? {}) as Record<string, S>;
      const [prop] = Object.keys(cond);
      if (prop && (v as S)[prop] === cond[prop].const) {
        const then = schemaFor(b.then as S, v);
        return { ...s, allOf: undefined, properties: { ...(s.properties as S), ...(then.properties as S) },
          required: then.required ?? s.required };
      }
    }
  }
  return s;
}

/** Fill absent fields that have a schema default, recursively. The input is not changed. */
export function applyDefaults(schema: S, value: JsonValue): JsonValue {
  const s = schemaFor(schema, value);
  if (Array.isArray(value)) return value.map((item) => applyDefaults((s.items ?? {}) as S, item));
  if (value === null || typeof value !== 'object') return value;
  const props = (s.properties ?? {}) as Record<string, S>;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = props[k] ? applyDefaults(props[k], v) : clone(v);
  for (const [k, p] of Object.entries(props)) {
    const ps = schemaFor(p, undefined);
    const dflt = 'default' in p ? p.default : ps.default;
    if (!(k in out) && dflt !== undefined) out[k] = applyDefaults(p, clone(dflt as JsonValue));
  }
  return out;
}

/** `format` → `{name: format, weight: 1}`, so both spellings give one stage key. */
export function normalizeRewards(params: JsonObject): JsonObject {
  if (!Array.isArray(params.rewards)) return params;
  return { ...params, rewards: params.rewards.map((r) => (typeof r === 'string' ? { name: r, weight: 1 } : r)) };
}

/** A teacher's id defaults to its type (attributes) or its model name (openai). */
function nameTeachers(params: JsonObject): JsonObject {
  if (!Array.isArray(params.teachers)) return params;
  return { ...params, teachers: params.teachers.map((t) => {
    if (!t || typeof t !== 'object' || Array.isArray(t) || t.id !== undefined) return t;
    return { ...t, id: t.type === 'openai' ? (t.model ?? 'openai') : (t.type ?? 'teacher') };
  }) };
}

/**
 * The trainer's normal form: `trainer: tfjs` is the default and is left out, so writing it keeps the
 * stage keys of specs that never named a trainer; a trl stage gets its `dtype` default (`auto`).
 */
function normalizeTrainer(params: JsonObject): JsonObject {
  if (trainerOf(params) === 'trl') return { ...params, dtype: params.dtype ?? 'auto' };
  if (params.trainer !== 'tfjs') return params;
  const { trainer: _tfjs, ...rest } = params;
  return rest;
}

/** Params as the stage will run them: alias defaults, schema defaults, normal forms. */
export function resolveParams(kind: SpecKind, params: JsonObject): JsonObject {
  let p: JsonObject = clone(params);
  if (kind === 'clgrpo') {
    const clip = (p.clip && typeof p.clip === 'object' && !Array.isArray(p.clip)) ? p.clip : {};
    p = { ...p, clip: { ...CLGRPO_DEFAULTS.clip, ...clip }, iterations: p.iterations ?? CLGRPO_DEFAULTS.iterations };
  }
  const k = planKind(kind);
  if (k === 'grpo') p = normalizeRewards(p);
  if (k === 'cot') p = nameTeachers(p);
  if (k === 'sft' || k === 'grpo' || k === 'eval') p = normalizeTrainer(p);
  return applyDefaults(DEFS[PARAMS_DEF[k]], p) as JsonObject;
}

/** Whether a dotted param path (`clip.high`) names a field of a kind's params; else the names allowed there. */
export function paramPathProblem(kind: SpecKind, path: string): { at: string; allowed: string[] } | undefined {
  let s: S = DEFS[PARAMS_DEF[planKind(kind)]];
  for (const seg of path.split('.')) {
    s = schemaFor(s, {});
    const props = (s.properties ?? {}) as Record<string, S>;
    if (!(seg in props)) return { at: seg, allowed: Object.keys(props) };
    s = props[seg];
  }
  return undefined;
}
