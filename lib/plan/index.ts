// The plan entry points: compile a loaded spec (with optional `--set` overrides) into a Plan, or
// load and compile a file in one call. Overrides are applied to the parsed spec and everything is
// checked again, so a plan is never built from a spec the checks did not see.
import { hashJson, type JsonValue } from '../canonical';
import { checkValue, loadSpecFile, sourceOf, split, type PipelineSpec } from '../spec';
import { SpecError, type LocatedError } from '../spec/located';
import type { SpecSource } from '../spec/source';
import { compileChecked } from './compile';
export { stageKeyOf } from './compile';
import { applyOverrides } from './overrides';
import { STAGE_KINDS, type Plan, type StageKind } from './types';
import { codeHashes } from '../code/identity';

export type { Plan, PlanStage, InputBinding } from './types';
export { effectiveKeys, dataAncestors } from './effective-key';
export { parseDuration } from './durations';
export type { Decision, DecideFn } from './decide';

export interface CompileOptions {
  /** `path=value` overrides (`--set`), applied in order. */
  overrides?: string[];
  /**
   * Code identity hash per stage kind, the key's code part. Default: derived from this checkout's
   * sources (lib/code/identity.ts); golden tests pass fixed ones.
   */
  code?: Record<StageKind, string>;
}

export type CompileResult =
  | { plan: Plan; warnings: LocatedError[] }
  | { errors: LocatedError[]; warnings: LocatedError[] };

export function compilePlan(spec: PipelineSpec, opts: CompileOptions = {}): CompileResult {
  const src0: SpecSource = sourceOf(spec) ?? { file: '<spec>', spans: new Map(), overrides: [] };
  const applied = applyOverrides(spec as unknown as JsonValue, opts.overrides ?? []);
  if (applied.errors.length) return { errors: split(applied.errors).errors, warnings: [] };
  const src: SpecSource = { ...src0, overrides: applied.origins };
  // Checked again even without overrides: a spec built in code has not been through the loader.
  const { errors, warnings } = split(checkValue(applied.value, src));
  if (errors.length) return { errors, warnings };
  const value = applied.value as unknown as PipelineSpec;
  const compiled = compileChecked(value, src, hashJson(applied.value), opts.code ?? codeHashes(STAGE_KINDS));
  const all = split([...warnings, ...compiled.warnings]).warnings;
  if (!compiled.plan) return { errors: split(compiled.errors).errors, warnings: all };
  return { plan: compiled.plan, warnings: all };
}

/** Load, check and compile a spec file; throws SpecError (every located problem in `errors`). */
export function loadAndCompile(path: string, opts: { set?: string[]; code?: Record<StageKind, string> } = {}): Plan {
  return compileFile(path, opts).plan;
}

/** Like loadAndCompile, also returning the warnings. */
export function compileFile(path: string, opts: { set?: string[]; code?: Record<StageKind, string> } = {}): { plan: Plan; warnings: LocatedError[] } {
  const loaded = loadSpecFile(path);
  if ('errors' in loaded) throw new SpecError(loaded.errors);
  const r = compilePlan(loaded.spec, { overrides: opts.set, code: opts.code });
  if ('errors' in r) throw new SpecError(r.errors);
  return r;
}
