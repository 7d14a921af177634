// The compiler: a checked spec → Plan. Applies defaults (from the schema), expands matrices,
// orders stages topologically, binds inputs to concrete upstream stages, resolves queue, retry and
// timeouts, and computes each stage's key from canonical JSON. Pure: same spec, same plan, same keys.
import { hashJson, type JsonObject, type JsonValue } from '../canonical';
import type { LocatedError } from '../spec/located';
import { checkParams } from '../spec/param-rules';
import { validateParamsDef } from '../spec/schema';
import { locate, segmentsOf, type SpecSource } from '../spec/source';
import type { PipelineSpec, Stage } from '../spec/spec-types.generated';
import { bindInputs, hasCotUpstream, type BaseBinding, type BaseStage } from '../spec/bind';
import { PARAMS_DEF, resolveParams } from '../spec/defaults';
import { resolveRetry, resolveTimeouts } from './durations';
import { outputOf, planKind, sftTarget, trainerOf } from '../spec/kinds';
import { combine, compatible, contextCells, contextSeed, matrixCells, setPath, variantId, type Cell, type Context, type Variant } from './matrix';
import type { InputBinding, Plan, PlanStage, StageKind } from './types';

/** Spec order among stages that are ready together, so the plan reads like the spec. */
export function topoOrder(stages: Record<string, BaseStage>): string[] {
  const ids = Object.keys(stages);
  const done = new Set<string>();
  const out: string[] = [];
  while (out.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && stages[id].needs.every((n) => done.has(n)));
    if (next === undefined) throw new Error('cycle in needs (the spec checks should have caught it)');
    done.add(next);
    out.push(next);
  }
  return out;
}

interface Ctx {
  spec: PipelineSpec;
  src: SpecSource;
  base: Record<string, BaseStage>;
  bindings: Map<string, BaseBinding[]>;
  origins: string[];
  cells: Map<string, Cell[]>;
  variants: Map<string, (Variant & { stage: PlanStage })[]>;
  /** Code identity hash per kind (lib/code/identity.ts), injected so compiling stays pure. */
  code: Record<StageKind, string>;
  errors: LocatedError[];
}

function cellParamProblems(c: Ctx, id: string, st: Stage, params: JsonObject, resolved: JsonObject, vid: string): void {
  const keys = Object.keys(st.matrix ?? {});
  const where = (ptrSegs: (string | number)[]): (string | number)[] => {
    const dotted = ptrSegs.join('.');
    const k = keys.find((key) => dotted === key || dotted.startsWith(`${key}.`) || key.startsWith(`${dotted}.`)) ?? keys[0];
    return ['stages', id, 'matrix', k];
  };
  for (const p of validateParamsDef(PARAMS_DEF[planKind(st.kind)], params)) {
    c.errors.push(locate(c.src, { segments: where(segmentsOf(p.pointer)), at: 'key', message: `in ${vid}: params${p.pointer.replace(/\//g, '.')}: ${p.message}`, hint: p.hint }));
  }
  for (const p of checkParams(st.kind, params, resolved)) {
    // A warning the cell did not cause (it holds for the base params too) was reported once already.
    const dotted = p.segments.join('.');
    if (p.severity === 'warning' && !keys.some((k) => dotted === k || dotted.startsWith(`${k}.`))) continue;
    c.errors.push(locate(c.src, { ...p, segments: where(p.segments), at: 'key', message: `in ${vid}: ${p.message}` }));
  }
}

/**
 * Stages that read user files get the data root in their params (activities/dataset.ts, pretrain.ts
 * and model.ts read `params.dataRoot`) and `readsData` in the plan: imports, pretrain with `init`,
 * and `model` (a Hugging Face model dir). The workflow fingerprints what they read before deciding
 * reuse (lib/plan/effective-key.ts). A synthetic dataset reads nothing, so moving the data root never
 * changes its key.
 */
export function readsDataRoot(kind: string, params: JsonObject): boolean {
  return (kind === 'dataset' && params.source !== 'synthetic') || (kind === 'pretrain' && typeof params.init === 'string')
    || kind === 'model';
}

/**
 * The stage's queue: its own, else defaults.queue, else `gpu` for a trl stage (real VLMs want a
 * GPU worker) and `cpu` for the rest. A spec that runs trl on CPU says so (`queue: cpu`).
 */
export function defaultQueue(stageQueue: string | undefined, defaultsQueue: string | undefined, params: JsonObject): string {
  return stageQueue ?? defaultsQueue ?? (trainerOf(params) === 'trl' ? 'gpu' : 'cpu');
}

function bindConcrete(c: Ctx, id: string, ctx: Context): { inputs: InputBinding[]; needs: string[] } {
  const inputs: InputBinding[] = [];
  for (const b of c.bindings.get(id) ?? []) {
    const from = (c.variants.get(b.from) ?? []).filter((v) => compatible(ctx, v.ctx));
    const chosen = b.input === 'models' ? from : from.slice(0, 1);
    for (const v of chosen) inputs.push({ input: b.input, from: v.id, kind: b.kind });
  }
  const needs = c.base[id].needs.flatMap((n) => (c.variants.get(n) ?? []).filter((v) => compatible(ctx, v.ctx)).map((v) => v.id));
  return { inputs, needs };
}

/**
 * The key formula: sha256 of canonical {kind, params (resolved), seed, inputs: [{input, key}], code
 * (the kind's code identity)}, with the hash of each part beside it so `plan` can say which moved.
 */
export function stageKeyOf(kind: StageKind, params: JsonObject, seed: number, inputs: { input: string; key: string }[], code: string): Pick<PlanStage, 'key' | 'keyParts'> {
  // The params part covers the seed too: both decide what the stage computes from its inputs.
  const keyParts = { params: hashJson({ params, seed }), inputs: hashJson(inputs), code };
  return { key: hashJson({ kind, params, seed, inputs, code }), keyParts };
}

function stageKey(c: Ctx, st: Omit<PlanStage, 'key' | 'keyParts'>): Pick<PlanStage, 'key' | 'keyParts'> {
  const keyOf = (id: string): string => [...c.variants.values()].flat().find((v) => v.id === id)?.stage.key ?? '';
  // The code part is the kind's code identity: the sources it reaches and its numeric packages.
  return stageKeyOf(st.kind, st.params, st.seed, st.inputs.map((b) => ({ input: b.input, key: keyOf(b.from) })), c.code[st.kind]);
}

function expandStage(c: Ctx, id: string): void {
  const st = c.spec.stages[id];
  const kind = planKind(st.kind);
  const binds = c.bindings.get(id) ?? [];
  const modelNeeds = new Set(kind === 'eval' ? binds.filter((b) => b.input === 'models').map((b) => b.from) : []);
  const sources = [...new Set([...c.base[id].needs, ...binds.map((b) => b.from)])].filter((s) => !modelNeeds.has(s));
  const ctxs = combine(sources.map((s) => c.variants.get(s) ?? []));
  const cells = c.cells.get(id) ?? [{ values: {} }];
  const out: (Variant & { stage: PlanStage })[] = [];
  for (const up of ctxs) {
    for (let ci = 0; ci < cells.length; ci++) {
      const ctx: Context = st.matrix ? new Map([...up, [id, ci]]) : up;
      const vid = variantId(id, ctx, (o) => c.cells.get(o) ?? [], c.origins);
      const params = JSON.parse(JSON.stringify(st.params ?? {})) as JsonObject;
      for (const [k, v] of Object.entries(cells[ci].values)) if (k !== 'seed') setPath(params, k, v);
      let resolved = resolveParams(st.kind, params);
      if (kind === 'sft') resolved = { ...resolved, target: sftTarget(resolved, hasCotUpstream(c.base, id)) };
      if (readsDataRoot(kind, resolved)) resolved = { ...resolved, dataRoot: c.spec.defaults?.dataRoot ?? 'data' };
      if (st.matrix) cellParamProblems(c, id, st, params, resolved, vid);
      const cellSeed = cells[ci].values.seed;
      const seed = st.seed ?? (typeof cellSeed === 'number' ? cellSeed : undefined)
        ?? contextSeed(up, (o) => c.cells.get(o) ?? [], c.origins) ?? c.spec.seed ?? 0;
      const { inputs, needs } = bindConcrete(c, id, ctx);
      const matrix = contextCells(ctx, (o) => c.cells.get(o) ?? [], c.origins);
      const partial: Omit<PlanStage, 'key' | 'keyParts'> = {
        id: vid, baseId: id, kind, ...(matrix ? { matrix } : {}), needs, inputs, params: resolved, seed, output: outputOf(kind, resolved),
        ...(readsDataRoot(kind, resolved) ? { readsData: true as const } : {}),
        queue: defaultQueue(st.queue, c.spec.defaults?.queue, resolved),
        retry: resolveRetry(st.retry, c.spec.defaults?.retry),
        timeouts: resolveTimeouts(kind, st.timeouts, c.spec.defaults?.timeouts),
      };
      out.push({ baseId: id, id: vid, ctx, stage: { ...partial, ...stageKey(c, partial) } });
    }
  }
  c.variants.set(id, out);
}

function duplicateKeys(c: Ctx, stages: PlanStage[]): void {
  const byKey = new Map<string, PlanStage>();
  for (const s of stages) {
    const first = byKey.get(s.key);
    if (!first) { byKey.set(s.key, s); continue; }
    c.errors.push(locate(c.src, { segments: ['stages', s.baseId], at: 'key',
      message: `stages '${first.id}' and '${s.id}' compile to the same stage key (same kind, params, seed and inputs), so they would write one output`,
      hint: 'remove one, or make them differ (params or seed)' }));
  }
}

/** Plans larger than this are refused: a sweep that big belongs in several runs. */
export const MAX_PLAN_STAGES = 256;

/**
 * An upper bound on the plan's size, computed before expanding (each stage: the product of its matrix
 * ancestors' cells), and the first matrix stage at which the running total passes the limit.
 */
function variantBound(base: Record<string, BaseStage>, order: string[], cells: Map<string, Cell[]>): { total: number; at?: string } {
  const origins = new Map<string, Set<string>>();
  let total = 0;
  let at: string | undefined;
  for (const id of order) {
    const mine = new Set<string>(cells.has(id) ? [id] : []);
    for (const n of base[id].needs) for (const o of origins.get(n) ?? []) mine.add(o);
    origins.set(id, mine);
    total += [...mine].reduce((p, o) => p * (cells.get(o)?.length ?? 1), 1);
    if (total > MAX_PLAN_STAGES && at === undefined) at = cells.has(id) ? id : [...mine].at(-1);
  }
  return { total, at };
}

/** Compile a spec that passed the schema and semantic checks; problems found while expanding are located via `src`. */
export function compileChecked(spec: PipelineSpec, src: SpecSource, specHash: string, code: Record<StageKind, string>): { plan?: Plan; errors: LocatedError[]; warnings: LocatedError[] } {
  const base: Record<string, BaseStage> = {};
  for (const [id, st] of Object.entries(spec.stages)) base[id] = { kind: st.kind, needs: st.needs ?? [], params: (st.params ?? {}) as Record<string, unknown> };
  const order = topoOrder(base);
  const cells = new Map<string, Cell[]>();
  for (const id of order) if (spec.stages[id].matrix) cells.set(id, matrixCells(spec.stages[id].matrix as Record<string, JsonValue[]>));
  const bound = variantBound(base, order, cells);
  if (bound.total > MAX_PLAN_STAGES) {
    return { warnings: [], errors: [locate(src, { segments: bound.at ? ['stages', bound.at, 'matrix'] : ['stages'], at: 'key',
      message: `the matrices would expand to up to ${bound.total} stages, over the limit of ${MAX_PLAN_STAGES}`, hint: 'sweep fewer values, or fewer stages at once' })] };
  }
  const c: Ctx = { spec, src, base, bindings: bindInputs(base).bindings, origins: order.filter((id) => cells.has(id)), cells, variants: new Map(), code, errors: [] };
  for (const id of order) expandStage(c, id);
  const stages = order.flatMap((id) => (c.variants.get(id) ?? []).map((v) => v.stage));
  duplicateKeys(c, stages);
  const warnings = c.errors.filter((e) => e.severity === 'warning');
  const errors = c.errors.filter((e) => e.severity === 'error');
  if (errors.length) return { errors, warnings };
  return { errors: [], warnings, plan: { planVersion: 1, name: spec.name, ...(spec.description ? { description: spec.description } : {}),
    specHash, seed: spec.seed ?? 0, maxParallel: spec.maxParallel ?? 4, dataRoot: spec.defaults?.dataRoot ?? 'data', stages } };
}
