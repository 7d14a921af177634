// Decoding of imported images (sharp: its native parts ship as registry packages) into the
// dataset artifact. Each image is decoded, cover-cropped to S×S sRGB once, described by a few
// measured attributes (light, colour, palette) for its caption, and written in split order.
// Corrupt or unreadable images are skipped and counted rather than failing the stage: one bad
// JPEG among 100k should not cost a run, but the count goes into the metrics and the log names
// the first few files so nothing is lost silently. A split whose every image is bad is a ConfigError.
import sharp from 'sharp';
import { ClgrpoError, ErrorType } from '../../errors';
import { SPLITS, SplitWriter, imageBytesOf, throwIfCancelled, writeMeta, type DatasetMeta, type Split } from './dataset';
import type { SourceEntry } from './sources';

/** Decode any sharp-readable image into S×S×3 uint8 (cover crop, alpha flattened on black, sRGB). */
export async function decodeImage(file: string, S: number): Promise<Uint8Array> {
  const { data, info } = await sharp(file, { failOn: 'error' })
    .rotate()
    .flatten({ background: '#000000' })
    .resize(S, S, { fit: 'cover', position: 'centre' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== S * S * 3) throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Coarse measured attributes of an image, named like the synthetic task's where they mean the same. */
export function describeImage(img: Uint8Array): { light: string; colour: string; palette: string } {
  let lum = 0, sat = 0, warm = 0, weight = 0;
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i] / 255, g = img[i + 1] / 255, b = img[i + 2] / 255;
    const max = Math.max(r, g, b), min = Math.min(r, g, b);
    const s = max === 0 ? 0 : (max - min) / max;
    lum += 0.299 * r + 0.587 * g + 0.114 * b;
    sat += s;
    // Warm = red dominates blue; weighted by saturation so greys do not vote.
    warm += s * (r > b ? 1 : 0);
    weight += s;
  }
  const n = img.length / 3;
  return {
    light: lum / n >= 0.5 ? 'bright' : 'dark',
    colour: sat / n >= 0.35 ? 'vivid' : 'muted',
    // Greyscale images have no palette to speak of.
    palette: sat / n < 0.05 ? 'neutral' : warm / weight >= 0.5 ? 'warm' : 'cool',
  };
}

function captionFor(img: Uint8Array, attributes: Record<string, unknown>): string {
  const d = describeImage(img);
  const parts = [`${d.palette} colours`, `${d.light} light`, `${d.colour} colour`];
  for (const k of ['scene', 'object', 'facial_expression', 'human_action']) {
    const v = attributes[k];
    if (typeof v === 'string' && v) parts.push(`${k.replace('_', ' ')} ${v}`);
    else if (Array.isArray(v) && v.length) parts.push(`${k.replace('_', ' ')} ${v.filter((x) => typeof x === 'string').join(' ')}`);
  }
  return parts.join(', ');
}

export interface ImportOptions {
  imageSize: number;
  labels: string[];
  source: string;
  /** Decodes in flight at once (sharp runs them on its own thread pool). */
  concurrency?: number;
  onProgress?: (p: { step: number; total: number }) => void;
  signal?: AbortSignal;
}

export interface ImportResult {
  meta: DatasetMeta;
  perClass: Record<Split, Record<string, number>>;
  skipped: Record<Split, string[]>;
}

/** Decode `splits` into `dir` as a dataset artifact. */
export async function importImages(dir: string, splits: Record<Split, SourceEntry[]>, o: ImportOptions): Promise<ImportResult> {
  const S = o.imageSize;
  const conc = o.concurrency ?? 8;
  const total = SPLITS.reduce((a, s) => a + splits[s].length, 0);
  const counts = {} as Record<Split, number>;
  const perClass = {} as Record<Split, Record<string, number>>;
  const skipped = {} as Record<Split, string[]>;
  let step = 0;
  for (const split of SPLITS) {
    const entries = splits[split];
    const w = new SplitWriter(dir, split, imageBytesOf(S));
    perClass[split] = Object.fromEntries(o.labels.map((l) => [l, 0]));
    skipped[split] = [];
    try {
      // Chunks keep memory bounded and the write order equal to the split order.
      for (let start = 0; start < entries.length; start += conc) {
        throwIfCancelled(o.signal, `import (${split} ${step}/${total})`);
        const chunk = entries.slice(start, start + conc);
        const decoded = await Promise.all(chunk.map((e) => decodeImage(e.file, S).catch(() => null)));
        chunk.forEach((e, k) => {
          const img = decoded[k];
          if (!img) { skipped[split].push(e.rel); return; }
          w.add({ label: e.label, labelId: o.labels.indexOf(e.label), attributes: e.attributes, caption: captionFor(img, e.attributes), source: e.rel, image: img });
          perClass[split][e.label]++;
        });
        step += chunk.length;
        o.onProgress?.({ step, total });
      }
    } finally {
      counts[split] = w.close();
    }
    if (entries.length > 0 && counts[split] === 0) {
      throw new ClgrpoError(ErrorType.Config, `all ${entries.length} images of the ${split} split failed to decode (first: ${skipped[split].slice(0, 3).join(', ')}); check the files or the source`,
        { details: { split, skipped: skipped[split].slice(0, 10) } });
    }
  }
  const meta: DatasetMeta = { labels: o.labels, imageSize: S, channels: 3, splits: counts, source: o.source, noise: null };
  writeMeta(dir, meta);
  return { meta, perClass, skipped };
}
