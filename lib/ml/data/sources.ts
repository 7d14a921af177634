// Listing of imported image sources (no decoding here): a folder with one sub-folder per label,
// a JSONL file of `{ image, label, attributes? }`, or the official EmoSet-118K layout, plus the
// seeded assignment of files to train/val/test. Every path goes through the data-root check.
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject, JsonValue } from '../../canonical';
import { ClgrpoError, ErrorType } from '../../errors';
import { rngFor } from '../../rng';
import { SPLITS, type Split } from './dataset';
import { resolveInRoot, relativeToRoot } from './paths';
import { LABELS } from './synthetic-rules';

export interface SourceEntry {
  /** Real absolute path (checked inside the data root). */
  file: string;
  /** Path relative to the data root, recorded in the sample. */
  rel: string;
  label: string;
  attributes: Record<string, JsonValue>;
  /** EmoSet: the checked annotation file, read by loadAnnotations once splits are chosen. */
  annotation?: string;
}

export interface SourceListing {
  labels: string[];
  /** Entries per split when the source fixes the splits (EmoSet), else all in `all`. */
  presplit: Record<Split, SourceEntry[]> | null;
  all: SourceEntry[];
  /** Listed files that do not exist (skipped like corrupt images). */
  missing: string[];
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];
/** Attributes of an EmoSet annotation file that are recorded with each sample. */
export const EMOSET_ATTRIBUTES = ['brightness', 'colorfulness', 'scene', 'object', 'facial_expression', 'human_action'];

/** EmoSet's order when every label is an EmoSet class (so label ids match the synthetic task), else sorted. */
function labelsOf(names: Iterable<string>): string[] {
  const set = [...new Set(names)];
  return set.every((l) => (LABELS as readonly string[]).includes(l)) ? [...LABELS] : set.sort();
}

export function listFolder(root: string, dir: string): SourceListing {
  const base = resolveInRoot(root, dir, 'dataset root');
  const all: SourceEntry[] = [];
  const subdirs = fs.readdirSync(base, { withFileTypes: true }).filter((d) => !d.name.startsWith('.')).map((d) => d.name).sort();
  for (const name of subdirs) {
    const labelDir = resolveInRoot(root, path.join(dir, name), 'label folder');
    if (!fs.statSync(labelDir).isDirectory()) continue;
    for (const f of fs.readdirSync(labelDir).sort()) {
      if (f.startsWith('.') || !IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase())) continue;
      const file = resolveInRoot(root, path.join(dir, name, f), 'image');
      all.push({ file, rel: relativeToRoot(root, path.resolve(root, dir, name, f)), label: name, attributes: {} });
    }
  }
  if (all.length === 0) {
    throw new ClgrpoError(ErrorType.Config, `no images (${IMAGE_EXTENSIONS.join(' ')}) in label sub-folders of ${dir} under ${root}; expected <root>/<label>/<image>`);
  }
  return { labels: labelsOf(all.map((e) => e.label)), presplit: null, all, missing: [] };
}

/** Resolve a listed image; a missing one is recorded, an escaping one throws. */
function listed(root: string, rel: string, what: string, base: string, missing: string[]): string | null {
  try {
    return resolveInRoot(root, rel, what, base);
  } catch (e) {
    if (e instanceof ClgrpoError && e.type === ErrorType.Config) {
      missing.push(rel);
      return null;
    }
    throw e;
  }
}

export function listJsonl(root: string, file: string): SourceListing {
  const real = resolveInRoot(root, file, 'jsonl file');
  const base = path.dirname(real);
  const all: SourceEntry[] = [];
  const missing: string[] = [];
  fs.readFileSync(real, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let row: { image?: unknown; label?: unknown; attributes?: unknown };
    try {
      row = JSON.parse(line);
    } catch (cause) {
      throw new ClgrpoError(ErrorType.Config, `${where}: not valid JSON; each line must be {"image": "...", "label": "...", "attributes": {...}}`, { cause });
    }
    if (typeof row.image !== 'string' || typeof row.label !== 'string' || !row.label) {
      throw new ClgrpoError(ErrorType.Config, `${where}: needs string fields "image" and "label"`);
    }
    const attrs = row.attributes === undefined ? {} : row.attributes;
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new ClgrpoError(ErrorType.Config, `${where}: "attributes" must be an object`);
    const abs = listed(root, row.image, `${where} image`, base, missing);
    if (abs) all.push({ file: abs, rel: relativeToRoot(root, path.resolve(base, row.image)), label: row.label, attributes: attrs as JsonObject });
  });
  if (all.length === 0) throw new ClgrpoError(ErrorType.Config, `${file}: no usable lines (${missing.length} images missing)`);
  return { labels: labelsOf(all.map((e) => e.label)), presplit: null, all, missing };
}

/** The recorded EmoSet attributes of one annotation file; an unreadable one records none. */
function emosetAttributes(abs: string): Record<string, JsonValue> {
  let ann: Record<string, JsonValue>;
  try {
    ann = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch {
    return {};
  }
  return Object.fromEntries(EMOSET_ATTRIBUTES.filter((k) => ann[k] !== undefined && ann[k] !== null).map((k) => [k, ann[k]]));
}

export function listEmoset(root: string, dir: string): SourceListing {
  const base = resolveInRoot(root, dir, 'EmoSet root');
  const presplit = {} as Record<Split, SourceEntry[]>;
  const missing: string[] = [];
  for (const split of SPLITS) {
    const listFile = resolveInRoot(root, path.join(dir, `${split}.json`), `EmoSet split file`);
    const rows = JSON.parse(fs.readFileSync(listFile, 'utf8')) as unknown;
    if (!Array.isArray(rows)) throw new ClgrpoError(ErrorType.Config, `${dir}/${split}.json must be a JSON array of [label, image, annotation]`);
    presplit[split] = [];
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'string') {
        throw new ClgrpoError(ErrorType.Config, `${dir}/${split}.json entry ${i}: expected [label, "image/<label>/<name>.jpg", "annotation/<label>/<name>.json"]`);
      }
      if (!(LABELS as readonly string[]).includes(row[0])) {
        throw new ClgrpoError(ErrorType.Config, `${dir}/${split}.json entry ${i}: unknown EmoSet label "${row[0]}" (labels: ${LABELS.join(', ')})`);
      }
      const abs = listed(root, row[1], `EmoSet image`, base, missing);
      if (!abs) return;
      // A missing annotation only loses attributes; an escaping one still throws.
      const annotation = typeof row[2] === 'string' ? listed(root, row[2], 'EmoSet annotation', base, []) ?? undefined : undefined;
      presplit[split].push({ file: abs, rel: relativeToRoot(root, path.resolve(base, row[1])), label: row[0], attributes: {}, annotation });
    });
  }
  return { labels: [...LABELS], presplit, all: SPLITS.flatMap((s) => presplit[s]), missing };
}

/**
 * Fill a split of `size` from `pool` in order, taking at most `cap` entries per label; taken entries
 * are removed from the pool, skipped ones stay for the next split.
 */
function takeSplit(pool: SourceEntry[], size: number, cap: number | undefined): SourceEntry[] {
  const taken: SourceEntry[] = [];
  const rest: SourceEntry[] = [];
  const perLabel = new Map<string, number>();
  for (const e of pool) {
    const n = perLabel.get(e.label) ?? 0;
    if (taken.length < size && (cap === undefined || n < cap)) {
      taken.push(e);
      perLabel.set(e.label, n + 1);
    } else {
      rest.push(e);
    }
  }
  pool.splice(0, pool.length, ...rest);
  return taken;
}

/** Split sizes: the requested counts when there are enough entries, else the same proportions of what there is. */
export function splitSizes(n: number, want: Record<Split, number>): Record<Split, number> {
  const total = want.train + want.val + want.test;
  if (total <= n) return { ...want };
  // A requested split keeps at least one sample while train keeps at least one too.
  const share = (k: number) => (k === 0 ? 0 : Math.max(n >= 3 ? 1 : 0, Math.round((n * k) / total)));
  const val = share(want.val);
  const test = Math.min(share(want.test), n - val);
  return { train: n - val - test, val, test };
}

/**
 * Deterministic assignment of listed files to splits: a seeded shuffle, then each split filled to
 * its size with at most `maxPerClass` samples per class (EmoSet keeps its own splits, shuffled and capped).
 */
export function assignSplits(listing: SourceListing, want: Record<Split, number>, seed: number, maxPerClass?: number): Record<Split, SourceEntry[]> {
  const out = {} as Record<Split, SourceEntry[]>;
  if (listing.presplit) {
    for (const s of SPLITS) out[s] = takeSplit(rngFor(seed, 'dataset', 'assign', s).shuffle([...listing.presplit[s]]), want[s], maxPerClass);
    return out;
  }
  const pool = rngFor(seed, 'dataset', 'assign', 'all').shuffle([...listing.all]);
  const sizes = splitSizes(pool.length, want);
  for (const s of SPLITS) out[s] = takeSplit(pool, sizes[s], maxPerClass);
  return out;
}

/** Read the attributes of EmoSet annotation files, only for the entries that made it into a split. */
export function loadAnnotations(splits: Record<Split, SourceEntry[]>): void {
  for (const s of SPLITS) {
    for (const e of splits[s]) if (e.annotation) e.attributes = emosetAttributes(e.annotation);
  }
}
