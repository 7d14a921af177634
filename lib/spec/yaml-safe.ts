// Safe YAML → JSON for specs. The `yaml` package keeps node positions; we walk its document
// ourselves instead of calling toJS(), so aliases are never expanded (an alias bomb costs one
// error, not memory), prototype keys are refused before any object is built, numbers are never
// coerced from strings (YAML 1.2 core schema: `yes` stays a string), and every node's span is kept
// so later errors (ajv, semantics) can point at the offending key or value.
import { CST, Lexer, LineCounter, parseAllDocuments, isAlias, isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { ErrorType } from '../errors';
import type { JsonValue } from '../canonical';
import type { LocatedError } from './located';

/** Specs larger than this are refused before the parser sees them. */
export const MAX_SPEC_BYTES = 256 * 1024;
/** Deeper nesting than any real spec needs; deeper documents are refused, not recursed into. */
export const MAX_DEPTH = 24;
/** Stop collecting after this many problems (an alias bomb would otherwise list 10,000). */
export const MAX_PROBLEMS = 100;
/** Keys that could reach an object's prototype if any consumer ever used plain assignment. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface Span { key?: [number, number]; value: [number, number] }

export interface SafeYaml {
  value: JsonValue | undefined;
  /** JSON pointer (as in ajv's instancePath) → where its key and value are. */
  spans: Map<string, Span>;
  errors: LocatedError[];
  lines: LineCounter;
  /** Pointers of values the walker refused or dropped: later checks stay quiet about them. */
  dropped: Set<string>;
  /** The YAML itself did not parse (or the prescan tripped): the value is not worth checking further. */
  broken: boolean;
}

export function pointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

class Walker {
  readonly spans = new Map<string, Span>();
  readonly errors: LocatedError[] = [];
  readonly dropped = new Set<string>();
  constructor(readonly file: string, readonly lines: LineCounter, readonly dotted: (s: (string | number)[]) => string,
    readonly text: string) {}

  /** Node ranges start at the value; point at the `&anchor` or `!tag` written before it instead. */
  before(start: number, marker: string): number {
    const i = this.text.lastIndexOf(marker, start);
    let j = i;
    while (j > 0 && this.text[j - 1] === '!' && marker === '!') j--;
    return i >= 0 && start - i < 1024 ? j : start;
  }

  add(offset: number, segments: (string | number)[], message: string, hint?: string): void {
    this.dropped.add(pointer(segments));
    if (this.errors.length >= MAX_PROBLEMS) return;
    const { line, col } = this.lines.linePos(offset);
    this.errors.push({ type: ErrorType.Spec, severity: 'error', file: this.file, line, col, offset,
      path: this.dotted(segments), message, hint });
    if (this.errors.length === MAX_PROBLEMS) {
      this.errors.push({ type: ErrorType.Spec, severity: 'error', file: this.file, line, col, offset: offset + 1,
        path: '', message: `stopped after ${MAX_PROBLEMS} problems`, hint: 'fix these and validate again' });
    }
  }

  full(): boolean { return this.errors.length > MAX_PROBLEMS; }

  node(n: unknown, segs: (string | number)[], depth: number): JsonValue | undefined {
    if (this.full()) return undefined;
    if (n === null || n === undefined) return null;
    const start = (n as { range?: [number, number, number] }).range?.[0] ?? 0;
    if (isAlias(n)) {
      this.add(start, segs, `YAML alias *${n.source} is not allowed in a spec`, 'write the value out in full');
      return undefined;
    }
    const node = n as YamlNode;
    if (node.anchor) this.add(this.before(start, `&${node.anchor}`), segs, `YAML anchor &${node.anchor} is not allowed in a spec`, 'remove the anchor; write values out in full');
    if (node.tag) {
      this.add(this.before(start, '!'), segs, `YAML tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in a spec`,
        'remove the tag; values are plain strings, numbers, booleans, lists and maps');
      return undefined;
    }
    if (depth > MAX_DEPTH) {
      this.add(start, segs, `nesting deeper than ${MAX_DEPTH} levels`, 'a spec is at most a few levels deep; flatten it');
      return undefined;
    }
    if (isScalar(node)) return this.scalar(node.value, start, segs);
    if (isSeq(node)) return node.items.map((item, i) => {
      const r = (item as { range?: number[] } | null)?.range;
      if (r) this.spans.set(pointer([...segs, i]), { value: [r[0], r[1]] });
      return this.node(item, [...segs, i], depth + 1) ?? null;
    });
    if (isMap(node)) return this.map(node.items, segs, depth);
    this.add(start, segs, 'unsupported YAML node');
    return undefined;
  }

  scalar(v: unknown, start: number, segs: (string | number)[]): JsonValue | undefined {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
      this.add(start, segs, `non-finite number ${v}`, 'use a finite number');
      return undefined;
    }
    this.add(start, segs, `unsupported value of type ${typeof v}`);
    return undefined;
  }

  map(items: { key: unknown; value: unknown }[], segs: (string | number)[], depth: number): JsonValue {
    const out: Record<string, JsonValue> = {};
    const seen = new Map<string, number>();
    for (const pair of items) {
      const k = pair.key;
      const kStart = (k as { range?: number[] } | null)?.range?.[0] ?? 0;
      if (!isScalar(k) || typeof k.value !== 'string' || k.tag || k.anchor) {
        const shown = isScalar(k) ? String(k.value) : 'a collection';
        this.add(kStart, segs, `map key ${shown} must be a plain string`, isScalar(k) ? `quote it: "${shown}"` : 'use a string key');
        continue;
      }
      const key = k.value;
      const kr = k.range as [number, number, number];
      const vr = (pair.value as { range?: number[] } | null)?.range;
      if (key === '<<') { this.add(kStart, segs, 'YAML merge key << is not allowed in a spec', 'write the merged keys out in full'); continue; }
      if (FORBIDDEN_KEYS.has(key)) {
        this.add(kStart, [...segs, key], `key '${key}' is not allowed (it could reach an object prototype)`, 'remove it');
        continue;
      }
      const first = seen.get(key);
      if (first !== undefined) {
        this.add(kStart, [...segs, key], `duplicate key '${key}' (first at line ${this.lines.linePos(first).line})`, 'keep one of them');
        continue;
      }
      seen.set(key, kStart);
      this.spans.set(pointer([...segs, key]), { key: [kr[0], kr[1]], value: vr ? [vr[0], vr[1]] : [kr[0], kr[1]] });
      const v = this.node(pair.value, [...segs, key], depth + 1);
      // Object.defineProperty: never a setter, whatever the key (forbidden keys are already refused).
      if (v !== undefined) Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

const CONTROL_TOKENS: ReadonlySet<string> = new Set([CST.BOM, CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * A circuit breaker run on the lexer's tokens before the document is composed: composing 10,000
 * aliases or 100,000 nested brackets costs seconds and hundreds of MiB, lexing up to the first
 * hundred costs microseconds. Returns where it tripped, or undefined when the full parse may go on
 * (it then reports the same problems, located, along with everything else).
 */
function prescan(text: string): { offset: number; message: string; hint: string } | undefined {
  let offset = 0;
  let depth = 0;
  let refs = 0;
  for (const tok of new Lexer().lex(text)) {
    const type = CST.tokenType(tok);
    if (type === 'alias' || type === 'anchor') {
      if (++refs > MAX_PROBLEMS) return { offset, message: `more than ${MAX_PROBLEMS} YAML anchors/aliases (an alias bomb?); aliases are not allowed in a spec`, hint: 'write values out in full' };
    } else if (type === 'flow-seq-start' || type === 'flow-map-start') {
      if (++depth > MAX_DEPTH) return { offset, message: `nesting deeper than ${MAX_DEPTH} levels`, hint: 'a spec is at most a few levels deep; flatten it' };
    } else if (type === 'flow-seq-end' || type === 'flow-map-end') depth--;
    if (!CONTROL_TOKENS.has(tok)) offset += tok.length;
  }
  return undefined;
}

/** Parse one spec document. `dotted` renders paths in messages. */
export function parseSafeYaml(text: string, file: string, dotted: (s: (string | number)[]) => string): SafeYaml {
  const lines = new LineCounter();
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SPEC_BYTES) {
    return { value: undefined, spans: new Map(), lines, dropped: new Set(), broken: true, errors: [{ type: ErrorType.Spec, severity: 'error', file, line: 1, col: 1,
      offset: 0, path: '', message: `spec is ${bytes} bytes, over the ${MAX_SPEC_BYTES}-byte limit`,
      hint: 'a spec names data, it does not contain it; move data into a dataset file' }] };
  }
  const tripped = prescan(text);
  if (tripped) {
    const before = text.slice(0, tripped.offset); // the LineCounter is filled by the parser, which did not run
    const line = before.split('\n').length;
    const col = tripped.offset - before.lastIndexOf('\n');
    return { value: undefined, spans: new Map(), lines, dropped: new Set(), broken: true, errors: [{ type: ErrorType.Spec, severity: 'error', file, line, col,
      offset: tripped.offset, path: '', message: tripped.message, hint: tripped.hint }] };
  }
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, merge: false, version: '1.2',
    schema: 'core', strict: true, prettyErrors: false, intAsBigInt: false });
  const w = new Walker(file, lines, dotted, text);
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > 1) {
    w.add(list[1].range[0], [], `${list.length} YAML documents in one file`, 'a spec is one document: remove the extra --- sections');
  }
  const doc = list[0];
  if (!doc || doc.contents === null) {
    w.add(0, [], 'the spec is empty', 'start with schemaVersion: 1');
    return { value: undefined, spans: w.spans, errors: w.errors, lines, dropped: w.dropped, broken: true };
  }
  for (const e of [...doc.errors, ...doc.warnings]) {
    if (e.code === 'TAG_RESOLVE_FAILED') continue; // reported by the walker, at the node
    w.add(e.pos[0], [], `YAML: ${e.message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const r = doc.contents.range;
  w.spans.set('', { value: [r[0], r[1]] });
  const broken = doc.errors.length > 0 || w.errors.length >= MAX_PROBLEMS;
  const value = w.node(doc.contents, [], 0);
  return { value, spans: w.spans, errors: w.errors, lines, dropped: w.dropped, broken };
}
