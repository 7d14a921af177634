// Matrix expansion. A stage with `matrix` becomes one variant per cell; a stage downstream of a
// fanned-out stage gets one variant per consistent combination of its upstream variants (a
// "context": which cell of each matrix stage it descends from), so shared upstream stages run
// once and branches never mix cells. An eval does not fan out over the models it compares: it
// takes every compatible variant of each model need as a `models` input.
import type { JsonValue } from '../canonical';

/** Which cell of each upstream matrix stage a variant descends from: origin stage id → cell index. */
export type Context = ReadonlyMap<string, number>;

export interface Cell { values: Record<string, JsonValue> }

export interface Variant { baseId: string; id: string; ctx: Context }

/** The cells of a matrix in key order × value order: `{a: [1, 2], b: [x]}` → a=1,b=x; a=2,b=x. */
export function matrixCells(matrix: Record<string, JsonValue[]> | undefined): Cell[] {
  let cells: Cell[] = [{ values: {} }];
  for (const [key, values] of Object.entries(matrix ?? {})) {
    cells = cells.flatMap((c) => values.map((v) => ({ values: { ...c.values, [key]: v } })));
  }
  return cells;
}

export function compatible(a: Context, b: Context): boolean {
  for (const [k, v] of a) if (b.has(k) && b.get(k) !== v) return false;
  return true;
}

function merge(a: Context, b: Context): Context {
  return new Map([...a, ...b]);
}

function ctxKey(c: Context): string {
  return [...c].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${v}`).join(',');
}

/** Every consistent merge of one variant from each group (a group = the variants of one upstream stage). */
export function combine(groups: Variant[][]): Context[] {
  let out: Context[] = [new Map()];
  for (const g of groups) {
    const next: Context[] = [];
    for (const c of out) for (const v of g) if (compatible(c, v.ctx)) next.push(merge(c, v.ctx));
    out = next;
  }
  const seen = new Set<string>();
  return out.filter((c) => { const k = ctxKey(c); if (seen.has(k)) return false; seen.add(k); return true; });
}

function show(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * `clgrpo[clip.high=0.1]`: the cells of the context in order of `origins` (topological). A key two
 * origins both vary (say seed) is qualified with its origin: `sft[data.seed=1,base.seed=2]`.
 */
export function variantId(baseId: string, ctx: Context, cellsOf: (origin: string) => Cell[], origins: readonly string[]): string {
  const parts: [string, string, JsonValue][] = [];
  for (const o of origins) {
    const i = ctx.get(o);
    if (i === undefined) continue;
    for (const [k, v] of Object.entries(cellsOf(o)[i].values)) parts.push([o, k, v]);
  }
  if (!parts.length) return baseId;
  const count = new Map<string, number>();
  for (const [, k] of parts) count.set(k, (count.get(k) ?? 0) + 1);
  return `${baseId}[${parts.map(([o, k, v]) => `${(count.get(k) ?? 0) > 1 ? `${o}.` : ''}${k}=${show(v)}`).join(',')}]`;
}

/** The matrix cell values a variant carries (for PlanStage.matrix), qualified like its id. */
export function contextCells(ctx: Context, cellsOf: (origin: string) => Cell[], origins: readonly string[]): Record<string, JsonValue> | undefined {
  const out: Record<string, JsonValue> = {};
  const entries: [string, string, JsonValue][] = [];
  for (const o of origins) {
    const i = ctx.get(o);
    if (i !== undefined) for (const [k, v] of Object.entries(cellsOf(o)[i].values)) entries.push([o, k, v]);
  }
  for (const [o, k, v] of entries) out[entries.filter((e) => e[1] === k).length > 1 ? `${o}.${k}` : k] = v;
  return entries.length ? out : undefined;
}

/** The effective seed a context gives: the nearest matrix `seed` cell (latest origin in topological order). */
export function contextSeed(ctx: Context, cellsOf: (origin: string) => Cell[], origins: readonly string[]): number | undefined {
  let seed: number | undefined;
  for (const o of origins) {
    const i = ctx.get(o);
    const v = i === undefined ? undefined : cellsOf(o)[i].values.seed;
    if (typeof v === 'number') seed = v;
  }
  return seed;
}

/** Set a dotted param path (`clip.high`) in a params object, creating maps on the way. */
export function setPath(obj: Record<string, JsonValue>, path: string, value: JsonValue): void {
  const segs = path.split('.');
  let o = obj;
  for (const s of segs.slice(0, -1)) {
    const next = o[s];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) o[s] = {};
    o = o[s] as Record<string, JsonValue>;
  }
  Object.defineProperty(o, segs[segs.length - 1], { value, enumerable: true, writable: true, configurable: true });
}
