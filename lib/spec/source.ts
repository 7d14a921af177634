// Where each part of a loaded spec came from: the YAML file (spans from the parser) or a
// `--set path=value` override. Problems found on the parsed value are located here; a problem
// under an overridden path names the override instead of a line in the file.
import type { LineCounter } from 'yaml';
import { ErrorType, type ErrorTypeName } from '../errors';
import { dottedPath, type LocatedError } from './located';
import { pointer, type Span } from './yaml-safe';

export interface OverrideOrigin {
  /** JSON pointer of the overridden value. */
  pointer: string;
  /** The override as given: `stages.sft.params.lr=1e-3`. */
  text: string;
  /** 1-based position of the override among the --set flags. */
  index: number;
}

export interface SpecSource {
  file: string;
  spans: Map<string, Span>;
  lines?: LineCounter;
  overrides: OverrideOrigin[];
}

export interface ProblemAt {
  segments: (string | number)[];
  at: 'key' | 'value';
  severity?: 'error' | 'warning';
  type?: ErrorTypeName;
  message: string;
  hint?: string;
}

/** JSON pointer → segments (array indices stay strings; dottedPath shows them as `.0`, so convert digits). */
export function segmentsOf(ptr: string): (string | number)[] {
  if (!ptr) return [];
  return ptr.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function locate(src: SpecSource, p: ProblemAt): LocatedError {
  const base = { type: p.type ?? ErrorType.Spec, severity: p.severity ?? 'error', path: dottedPath(p.segments), hint: p.hint } as const;
  const ptr = pointer(p.segments);
  const ov = src.overrides.find((o) => ptr === o.pointer || ptr.startsWith(`${o.pointer}/`) || o.pointer.startsWith(`${ptr}/`));
  if (ov) {
    const col = ov.text.indexOf('=') + 2;
    return { ...base, file: `--set #${ov.index}`, line: 1, col, offset: ov.index, message: `${p.message} (from --set ${ov.text})` };
  }
  // A cross-field problem beside an override (groupSize overridden, microBatch now wrong) stays at
  // its place in the file but says which override made it appear.
  const near = p.segments[0] === 'stages' ? src.overrides.find((o) => o.pointer.startsWith(`${pointer(p.segments.slice(0, 2))}/`)) : undefined;
  const after = near ? ` (after --set ${near.text})` : '';
  for (let segs = [...p.segments]; ; segs.pop()) {
    const span = src.spans.get(pointer(segs));
    if (span || !segs.length) {
      const offset = span ? (p.at === 'key' && span.key ? span.key[0] : span.value[0]) : 0;
      const pos = src.lines && span ? src.lines.linePos(offset) : { line: 1, col: 1 };
      return { ...base, file: src.file, line: pos.line, col: pos.col, offset, message: `${p.message}${after}` };
    }
  }
}
