// Rules the schema cannot express: references between stages, cycles, typed inputs, GRPO's
// cross-field arithmetic, paths and secrets. Runs on the parsed value even when the schema found
// problems (reading fields defensively), so one `validate` reports everything. Every message carries
// the numbers involved and the fix.
import { ErrorType, type ErrorTypeName } from '../errors';
import { bindInputs, type BaseStage } from './bind';
import { paramPathProblem, resolveParams } from './defaults';
import { STAGE_KINDS, type SpecKind } from './kinds';
import type { JsonObject } from '../canonical';
import { looksLikeSecret, shortName } from './located';
import { suggestion } from './suggest';
import { checkParams } from './param-rules';

export interface SemProblem {
  segments: (string | number)[];
  at: 'key' | 'value';
  severity: 'error' | 'warning';
  type: ErrorTypeName;
  message: string;
  hint?: string;
}

const SPEC_KINDS: readonly string[] = [...STAGE_KINDS, 'clgrpo'];

type O = Record<string, unknown>;
const isObj = (v: unknown): v is O => v !== null && typeof v === 'object' && !Array.isArray(v);

function err(segments: (string | number)[], message: string, hint?: string, at: 'key' | 'value' = 'value'): SemProblem {
  return { segments, at, severity: 'error', type: ErrorType.Spec, message, hint };
}

/** The stages whose kind is known, with needs reduced to strings; others are the schema's to report. */
function baseStages(stages: O): Record<string, BaseStage> {
  const out: Record<string, BaseStage> = {};
  for (const [id, st] of Object.entries(stages)) {
    if (!isObj(st) || typeof st.kind !== 'string' || !SPEC_KINDS.includes(st.kind)) continue;
    const needs = Array.isArray(st.needs) ? st.needs.filter((n): n is string => typeof n === 'string') : [];
    out[id] = { kind: st.kind as SpecKind, needs, params: isObj(st.params) ? st.params : {} };
  }
  return out;
}

function checkNeeds(stages: O, ids: string[]): SemProblem[] {
  const out: SemProblem[] = [];
  for (const [id, st] of Object.entries(stages)) {
    if (!isObj(st) || !Array.isArray(st.needs)) continue;
    st.needs.forEach((n, i) => {
      if (typeof n === 'string' && !ids.includes(n)) {
        out.push(err(['stages', id, 'needs', i], `needs '${shortName(n)}', but there is no stage '${shortName(n)}'`, suggestion(n, ids, 'stages')));
      }
    });
  }
  return out;
}

/** Every cycle once, as a path `a → b → a`, located at the need that closes it. */
export function findCycles(stages: Record<string, BaseStage>): { path: string[] }[] {
  const color = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: { path: string[] }[] = [];
  const visit = (id: string): void => {
    color.set(id, 1);
    stack.push(id);
    for (const n of stages[id].needs) {
      if (!stages[n]) continue;
      if (color.get(n) === 1) cycles.push({ path: [...stack.slice(stack.indexOf(n)), n] });
      else if (!color.has(n)) visit(n);
    }
    stack.pop();
    color.set(id, 2);
  };
  for (const id of Object.keys(stages)) if (!color.has(id)) visit(id);
  return cycles;
}

function checkCycles(base: Record<string, BaseStage>): SemProblem[] {
  return findCycles(base).map(({ path }) => {
    const from = path[path.length - 2];
    const to = path[path.length - 1];
    return err(['stages', from, 'needs', base[from].needs.indexOf(to)], `cycle in needs: ${path.join(' → ')}`,
      `a stage cannot depend on itself, even indirectly; remove '${to}' from the needs of '${from}'`);
  });
}

/** Stages whose needs are malformed or name unknown stages: their binding problems would only echo that. */
function badNeeds(stages: O, base: Record<string, BaseStage>): Set<string> {
  const ids = Object.keys(base); // a need on a stage of unknown kind is as unusable as a missing one
  return new Set(Object.entries(stages).filter(([, st]) => isObj(st) && st.needs !== undefined
    && (!Array.isArray(st.needs) || st.needs.some((n) => typeof n !== 'string' || !ids.includes(n)))).map(([id]) => id));
}

function checkBindings(base: Record<string, BaseStage>, skip: Set<string>): SemProblem[] {
  return bindInputs(base).problems.filter((p) => !skip.has(p.stage)).map((p) => ({
    segments: p.need === undefined ? ['stages', p.stage] : ['stages', p.stage, 'needs', p.need],
    at: p.need === undefined ? 'key' as const : 'value' as const,
    severity: p.severity, type: ErrorType.Spec, message: p.message, hint: p.hint,
  }));
}

function checkMatrix(id: string, st: O, kind: SpecKind): SemProblem[] {
  if (!isObj(st.matrix)) return [];
  const out: SemProblem[] = [];
  let cells = 1;
  for (const [key, values] of Object.entries(st.matrix)) {
    if (Array.isArray(values)) cells *= values.length;
    if (key === 'seed') {
      if (Array.isArray(values) && values.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4294967295)) {
        out.push(err(['stages', id, 'matrix', key], `matrix seed values must be integers in [0, 4294967295] (got ${JSON.stringify(values).slice(0, 60)})`, 'e.g. seed: [1, 2]'));
      }
      if (st.seed !== undefined) out.push(err(['stages', id, 'matrix', key], `matrix varies seed, and the stage also sets seed: ${String(st.seed)}`, 'remove one of them', 'key'));
      continue;
    }
    const bad = paramPathProblem(kind, key);
    if (bad) out.push(err(['stages', id, 'matrix', key], `matrix key '${key}': ${kind} params have no '${bad.at}'`, suggestion(bad.at, bad.allowed), 'key'));
  }
  if (cells > 64) out.push(err(['stages', id, 'matrix'], `matrix has ${cells} cells, over the limit of 64`, 'sweep fewer values per run', 'key'));
  return out;
}

function checkSecrets(v: unknown, segs: (string | number)[], out: SemProblem[]): void {
  if (typeof v === 'string' && looksLikeSecret(v)) {
    out.push(err(segs, 'looks like a literal secret (an API key or token); a spec must never contain one',
      'put the key in an environment variable and name the variable with apiKeyEnv'));
  } else if (Array.isArray(v)) v.forEach((x, i) => checkSecrets(x, [...segs, i], out));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) checkSecrets(x, [...segs, k], out);
}

function checkStageParams(id: string, st: O, kind: SpecKind): SemProblem[] {
  const params = isObj(st.params) ? st.params : {};
  let resolved: JsonObject;
  try {
    resolved = resolveParams(kind, params as JsonObject);
  } catch {
    return []; // shapes the schema rejects; it has reported them
  }
  return checkParams(kind, params, resolved).map((p) => ({ ...p, segments: ['stages', id, 'params', ...p.segments] }));
}

function checkDataRoot(v: O): SemProblem[] {
  const root = isObj(v.defaults) ? v.defaults.dataRoot : undefined;
  if (typeof root !== 'string') return [];
  if (root.includes('\0')) return [{ ...err(['defaults', 'dataRoot'], 'dataRoot contains a NUL byte', 'remove it'), type: ErrorType.PathEscape }];
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(root)) return [{ ...err(['defaults', 'dataRoot'], 'dataRoot is a URL; it must be a local directory', 'give a directory path'), type: ErrorType.PathEscape }];
  return [];
}

/** All semantic problems of a parsed spec value (schema-valid or not). */
export function checkSemantics(value: unknown): SemProblem[] {
  if (!isObj(value)) return [];
  const out: SemProblem[] = [];
  checkSecrets(value, [], out);
  out.push(...checkDataRoot(value));
  if (!isObj(value.stages)) return out;
  const stages = value.stages;
  const base = baseStages(stages);
  out.push(...checkNeeds(stages, Object.keys(stages)));
  const cycles = checkCycles(base);
  out.push(...cycles);
  out.push(...checkBindings(base, badNeeds(stages, base))); // binding walks ancestors with a seen-set, so cycles cannot loop it
  for (const [id, b] of Object.entries(base)) {
    const st = stages[id] as O;
    out.push(...checkMatrix(id, st, b.kind), ...checkStageParams(id, st, b.kind));
  }
  return out;
}

