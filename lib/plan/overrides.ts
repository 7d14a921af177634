// `--set path=value` overrides: applied to the parsed spec before it is checked again, so an
// override can never smuggle in what the file could not (the same safe YAML parser reads the
// value; the same schema and semantic checks run after). Problems name the override.
import type { JsonValue } from '../canonical';
import { dottedPath, type LocatedError } from '../spec/located';
import type { OverrideOrigin } from '../spec/source';
import { ErrorType } from '../errors';
import { FORBIDDEN_KEYS, parseSafeYaml, pointer } from '../spec/yaml-safe';

type O = Record<string, JsonValue>;
const isObj = (v: unknown): v is O => v !== null && typeof v === 'object' && !Array.isArray(v);

function fail(index: number, text: string, col: number, message: string, hint: string): LocatedError {
  return { type: ErrorType.Spec, severity: 'error', file: `--set #${index}`, line: 1, col, offset: index, path: '', message: `${message} (in --set ${text})`, hint };
}

/**
 * Split a dotted path against the value it walks: a key that itself contains dots (a matrix key such
 * as `clip.high`) is matched whole when it exists, else one segment is taken.
 */
export function splitPath(root: JsonValue, path: string): (string | number)[] {
  const parts = path.split('.');
  const out: (string | number)[] = [];
  let cur: JsonValue | undefined = root;
  for (let i = 0; i < parts.length;) {
    let taken = 1;
    if (isObj(cur)) {
      for (let j = parts.length; j > i + 1; j--) if (parts.slice(i, j).join('.') in cur) { taken = j - i; break; }
    }
    const seg = parts.slice(i, i + taken).join('.');
    const asIndex: string | number = Array.isArray(cur) && /^\d+$/.test(seg) ? Number(seg) : seg;
    out.push(asIndex);
    cur = isObj(cur) ? cur[seg] : Array.isArray(cur) && typeof asIndex === 'number' ? cur[asIndex] : undefined;
    i += taken;
  }
  return out;
}

function setAt(root: O, segs: (string | number)[], value: JsonValue): void {
  let o: JsonValue = root;
  for (const [i, s] of segs.entries()) {
    const last = i === segs.length - 1;
    if (Array.isArray(o) && typeof s === 'number') {
      if (last) o[s] = value; else o = o[s];
      continue;
    }
    const obj = o as O;
    if (last) Object.defineProperty(obj, String(s), { value, enumerable: true, writable: true, configurable: true });
    else {
      if (!isObj(obj[String(s)]) && !Array.isArray(obj[String(s)])) Object.defineProperty(obj, String(s), { value: {}, enumerable: true, writable: true, configurable: true });
      o = obj[String(s)];
    }
  }
}

/** Apply overrides to a copy of the spec value; returns the new value and where each override landed. */
export function applyOverrides(value: JsonValue, overrides: readonly string[]): { value: JsonValue; origins: OverrideOrigin[]; errors: LocatedError[] } {
  const out = JSON.parse(JSON.stringify(value)) as JsonValue;
  const origins: OverrideOrigin[] = [];
  const errors: LocatedError[] = [];
  overrides.forEach((text, n) => {
    const index = n + 1;
    const eq = text.indexOf('=');
    if (eq <= 0) { errors.push(fail(index, text, 1, 'an override is path=value', 'e.g. --set stages.sft.params.lr=1e-3')); return; }
    const path = text.slice(0, eq);
    if (!/^[A-Za-z0-9_.]+$/.test(path) || path.split('.').some((s) => !s)) {
      errors.push(fail(index, text, 1, `bad path '${path}'`, 'a dotted path such as stages.grpo.params.steps')); return;
    }
    const segs = splitPath(out, path);
    const bad = segs.find((s) => FORBIDDEN_KEYS.has(String(s)));
    if (bad !== undefined) { errors.push(fail(index, text, 1, `key '${String(bad)}' is not allowed`, 'remove it')); return; }
    const parsed = parseSafeYaml(text.slice(eq + 1), `--set #${index}`, dottedPath);
    if (parsed.errors.length || parsed.value === undefined) {
      for (const e of parsed.errors) errors.push({ ...e, col: e.col + eq + 1, message: `${e.message} (in --set ${text})` });
      if (!parsed.errors.length) errors.push(fail(index, text, eq + 2, 'empty value', 'give a value after ='));
      return;
    }
    if (!isObj(out)) return;
    setAt(out, segs, parsed.value);
    origins.push({ pointer: pointer(segs), text, index });
  });
  return { value: out, origins, errors };
}
