// Cross-field rules on one stage's params, with the numbers in every message (TRL GRPOConfig
// style). Pure: given the params as written and as resolved (defaults applied), returns problems
// whose paths are relative to `params`. The compiler runs them again on every matrix cell.
import { ErrorType } from '../errors';
import type { JsonObject } from '../canonical';
import { planKind, type SpecKind } from './kinds';
import type { SemProblem } from './semantics';
import { trainerRules } from './trainer-knobs';

type O = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function problem(segments: (string | number)[], message: string, hint?: string, severity: 'error' | 'warning' = 'error'): SemProblem {
  return { segments, at: 'value', severity, type: ErrorType.Spec, message, hint };
}

/** Why a relative path is unsafe, or undefined when it is fine. */
export function pathProblem(p: string): string | undefined {
  if (p.includes('\0')) return 'contains a NUL byte';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(p)) return `is a URL (${p.split(':')[0]}:); give a path relative to its root`;
  if (p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p)) return 'is absolute; give a path relative to its root';
  if (p.split(/[\\/]/).includes('..')) return "escapes its root with '..'; give a path inside the root";
  return undefined;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = n; d >= 1 && out.length < 4; d--) if (n % d === 0) out.push(d);
  return out;
}

function grpoRules(p: JsonObject): SemProblem[] {
  const out: SemProblem[] = [];
  const g = num(p.groupSize);
  const prompts = num(p.promptsPerStep);
  const micro = num(p.microBatch);
  if (g !== undefined && g < 2) {
    out.push(problem(['groupSize'], `groupSize is ${g}: GRPO normalizes rewards within a group, so a group of 1 gives every advantage 0`, 'use groupSize ≥ 2 (8 is the default)'));
  }
  if (g !== undefined && prompts !== undefined && micro !== undefined && (prompts * g) % micro !== 0) {
    const total = prompts * g;
    out.push(problem(['microBatch'], `promptsPerStep × groupSize = ${prompts} × ${g} = ${total} is not divisible by microBatch ${micro}`,
      `set microBatch to a divisor of ${total} (e.g. ${divisors(total).join(', ')}), or change promptsPerStep or groupSize`));
  }
  const clip = (p.clip ?? {}) as O;
  for (const side of ['low', 'high'] as const) {
    const v = num(clip[side]);
    if (v !== undefined && !(v > 0 && v < 1)) {
      out.push(problem(['clip', side], `clip.${side} is ${v}; it must be in (0, 1) (the ratio is clipped to [1 − low, 1 + high])`,
        side === 'low' ? 'typical: 0.2' : 'typical: 0.2 for GRPO, 0.1 for CLGRPO'));
    }
  }
  if (num(p.iterations) === 1) {
    out.push(problem(['iterations'], 'iterations is 1: with one update per rollout batch the ratio is exactly 1, so the clip bounds never act',
      'use iterations ≥ 2 for the clip (and CLGRPO) to matter', 'warning'));
  }
  const names = Array.isArray(p.rewards) ? p.rewards.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as O).name : r)) : [];
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) out.push(problem(['rewards', i], `reward '${String(n)}' is listed twice (items ${names.indexOf(n)} and ${i})`, 'list each reward once; use weight to scale it'));
  });
  return out;
}

function datasetRules(raw: O, p: JsonObject): SemProblem[] {
  const out: SemProblem[] = [];
  const source = p.source;
  for (const field of ['root', 'file'] as const) {
    const v = raw[field];
    if (typeof v === 'string') {
      const why = pathProblem(v);
      if (why) out.push({ ...problem([field], `${field} ${why}`, 'paths are relative to defaults.dataRoot'), type: ErrorType.PathEscape });
    }
  }
  if (!['synthetic', 'folder', 'jsonl', 'emoset'].includes(String(source))) return out; // the schema reports it
  const needsRoot = source === 'folder' || source === 'emoset';
  if (needsRoot && raw.root === undefined) out.push(problem(['source'], `source ${String(source)} needs root (the folder, relative to defaults.dataRoot)`, 'add root: <folder>'));
  if (source === 'jsonl' && raw.file === undefined) out.push(problem(['source'], 'source jsonl needs file (relative to defaults.dataRoot)', 'add file: <name>.jsonl'));
  if (!needsRoot && raw.root !== undefined) out.push(problem(['root'], `root is read only for source folder or emoset (source is ${String(source)})`, 'remove root or change source'));
  if (source !== 'jsonl' && raw.file !== undefined) out.push(problem(['file'], `file is read only for source jsonl (source is ${String(source)})`, 'remove file or change source'));
  return out;
}

function pretrainRules(raw: O, p: JsonObject): SemProblem[] {
  const out: SemProblem[] = [];
  if (typeof raw.init === 'string') {
    const why = pathProblem(raw.init);
    if (why) out.push({ ...problem(['init'], `init ${why}`, 'init names a checkpoint directory relative to the store'), type: ErrorType.PathEscape });
  }
  const steps = num(p.steps);
  const warm = num(p.warmupSteps);
  if (steps !== undefined && warm !== undefined && warm >= steps && raw.init === undefined) {
    out.push(problem(['warmupSteps'], `warmupSteps ${warm} ≥ steps ${steps}: the learning rate never reaches its peak`, `use warmupSteps < ${steps}`, 'warning'));
  }
  return out;
}

function sftRules(raw: O): SemProblem[] {
  if (raw.steps !== undefined && raw.epochs !== undefined) {
    return [problem(['epochs'], `epochs ${String(raw.epochs)} is ignored because steps ${String(raw.steps)} is set`, 'remove one of them', 'warning')];
  }
  return [];
}

function cotRules(p: JsonObject): SemProblem[] {
  const out: SemProblem[] = [];
  const ids = Array.isArray(p.teachers) ? p.teachers.map((t) => (t && typeof t === 'object' && !Array.isArray(t) ? (t as O).id : undefined)) : [];
  ids.forEach((id, i) => {
    if (id !== undefined && ids.indexOf(id) !== i) out.push(problem(['teachers', i], `teacher id '${String(id)}' is used by teachers ${ids.indexOf(id)} and ${i}`, 'give each teacher a distinct id'));
  });
  return out;
}

function modelRules(raw: O): SemProblem[] {
  if (typeof raw.path !== 'string') return [];
  const why = pathProblem(raw.path);
  return why ? [{ ...problem(['path'], `path ${why}`, 'path names the model dir relative to defaults.dataRoot'), type: ErrorType.PathEscape }] : [];
}

export function checkParams(kind: SpecKind, raw: O, resolved: JsonObject): SemProblem[] {
  const k = planKind(kind);
  switch (k) {
    case 'grpo': return [...grpoRules(resolved), ...trainerRules(kind, raw, resolved)];
    case 'dataset': return datasetRules(raw, resolved);
    case 'pretrain': return pretrainRules(raw, resolved);
    case 'sft': return [...sftRules(raw), ...trainerRules(kind, raw, resolved)];
    case 'cot': return cotRules(resolved);
    case 'eval': return trainerRules(kind, raw, resolved);
    case 'model': return modelRules(raw);
    default: {
      const never: never = k;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}
