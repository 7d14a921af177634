// The spec loader: text → parsed (safe YAML) → schema-checked → semantically checked spec, or every
// located problem at once. The returned spec is typed from the schema (spec-types.generated.ts);
// its source (spans, file) is remembered beside it so the compiler can locate later problems.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { ErrorType } from '../errors';
import { dottedPath, sortLocated, type LocatedError } from './located';
import { validateSchema } from './schema';
import { checkSemantics } from './semantics';
import { locate, segmentsOf, type SpecSource } from './source';
import { MAX_SPEC_BYTES, parseSafeYaml, pointer } from './yaml-safe';
import type { PipelineSpec } from './spec-types.generated';

export type { PipelineSpec } from './spec-types.generated';
export { SpecError, formatLocated, type LocatedError } from './located';
export { MAX_SPEC_BYTES } from './yaml-safe';

export type LoadResult =
  | { spec: PipelineSpec; warnings: LocatedError[] }
  | { errors: LocatedError[]; warnings: LocatedError[]; /** The file could not be read (CLI exit 2, not 1). */ io?: true };

const sources = new WeakMap<object, SpecSource>();

/** Where a loaded spec came from (undefined for a spec built in code). */
export function sourceOf(spec: object): SpecSource | undefined {
  return sources.get(spec);
}

/** Whether a pointer is at or under one the loader already reported (so it is not reported twice). */
function quiet(dropped: ReadonlySet<string>, ptr: string): boolean {
  for (const d of dropped) if (ptr === d || ptr.startsWith(`${d}/`)) return true;
  return false;
}

/** Schema + semantic problems of a parsed value, located through `src`; `dropped` pointers stay quiet. */
export function checkValue(value: unknown, src: SpecSource, dropped: ReadonlySet<string> = new Set()): LocatedError[] {
  const out: LocatedError[] = [];
  for (const p of validateSchema(value)) {
    const target = p.missing === undefined ? p.pointer : pointer([...segmentsOf(p.pointer), p.missing]);
    if (quiet(dropped, target)) continue;
    out.push(locate(src, { segments: segmentsOf(p.pointer), at: p.at, message: p.message, hint: p.hint }));
  }
  for (const p of checkSemantics(value)) if (!quiet(dropped, pointer(p.segments))) out.push(locate(src, p));
  return out;
}

export function split(all: LocatedError[]): { errors: LocatedError[]; warnings: LocatedError[] } {
  const sorted = sortLocated(all);
  return { errors: sorted.filter((e) => e.severity === 'error'), warnings: sorted.filter((e) => e.severity === 'warning') };
}

export function loadSpecText(text: string, file: string): LoadResult {
  const parsed = parseSafeYaml(text, file, dottedPath);
  const src: SpecSource = { file, spans: parsed.spans, lines: parsed.lines, overrides: [] };
  const all = [...parsed.errors];
  // Loader problems (an alias, a duplicate key) do not hide the rest: check what was read, quietly
  // around what was refused. Only YAML that did not parse at all stops here.
  if (parsed.value !== undefined && !parsed.broken) all.push(...checkValue(parsed.value, src, parsed.dropped));
  const { errors, warnings } = split(all);
  if (errors.length || parsed.value === undefined) return { errors, warnings };
  const spec = parsed.value as unknown as PipelineSpec; // checked above against the schema these types come from
  sources.set(spec, src);
  return { spec, warnings };
}

function ioError(file: string, message: string, hint: string): LoadResult {
  return { errors: [{ type: ErrorType.Spec, severity: 'error', file, line: 1, col: 1, offset: 0, path: '', message, hint }], warnings: [], io: true };
}

/** Read a spec file without ever reading more than the size cap. */
export function loadSpecFile(path: string): LoadResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return ioError(path, `cannot open the spec: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'check the path');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return ioError(path, 'not a regular file', 'give the path of a .yaml file');
    if (st.size > MAX_SPEC_BYTES) {
      const r = ioError(path, `spec is ${st.size} bytes, over the ${MAX_SPEC_BYTES}-byte limit`, 'a spec names data, it does not contain it');
      return { errors: 'errors' in r ? r.errors : [], warnings: [] }; // an invalid spec (exit 1), not an I/O failure
    }
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return loadSpecText(buf.subarray(0, got).toString('utf8'), path);
  } finally {
    closeSync(fd);
  }
}
