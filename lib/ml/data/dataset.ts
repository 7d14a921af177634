// The dataset artifact (docs/CONTRACTS.md "dataset"): `meta.json`, and per split a packed
// `images-<split>.u8` (N×S×S×3 uint8, HWC) beside `samples-<split>.jsonl`. Writers stream
// samples one at a time; readers load each split's image file once and hand out zero-copy views
// or normalized Float32 batches, so trainers never decode an image again.
import fs from 'node:fs';
import path from 'node:path';
import type { JsonValue } from '../../canonical';
import { sha256Hex } from '../../canonical';
import { ClgrpoError, ErrorType } from '../../errors';

export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export interface DatasetMeta {
  labels: string[];
  imageSize: number;
  channels: 3;
  splits: Record<Split, number>;
  source: string;
  /** Label-noise probability of a synthetic dataset; null for imported data. */
  noise: number | null;
}

/** One line of `samples-<split>.jsonl`. */
export interface DatasetSample {
  index: number;
  label: string;
  labelId: number;
  /** Recorded attributes: the synthetic task's (null = unclear) or an importer's (EmoSet annotations). */
  attributes: Record<string, JsonValue>;
  caption: string;
  imageSha256: string;
  /** Synthetic only: the label was replaced by a confusable class (for diagnostics, never for training). */
  noisy?: boolean;
  /** Imported only: the source file, relative to the data root. */
  source?: string;
}

export type SampleInput = Omit<DatasetSample, 'index' | 'imageSha256'> & { image: Uint8Array };

/** Streams one split to disk; `close()` returns how many samples were written. */
export class SplitWriter {
  private readonly imageFd: number;
  private readonly lines: string[] = [];
  private count = 0;

  constructor(private readonly dir: string, readonly split: Split, private readonly imageBytes: number) {
    this.imageFd = fs.openSync(path.join(dir, `images-${split}.u8`), 'w');
  }

  add(s: SampleInput): DatasetSample {
    if (s.image.length !== this.imageBytes) {
      throw new RangeError(`${this.split} sample ${this.count}: image has ${s.image.length} bytes, expected ${this.imageBytes}`);
    }
    fs.writeSync(this.imageFd, s.image);
    const { image, ...rest } = s;
    const sample: DatasetSample = { index: this.count++, ...rest, imageSha256: sha256Hex(image) };
    this.lines.push(JSON.stringify(sample));
    return sample;
  }

  close(): number {
    fs.fsyncSync(this.imageFd);
    fs.closeSync(this.imageFd);
    fs.writeFileSync(path.join(this.dir, `samples-${this.split}.jsonl`), this.lines.length ? `${this.lines.join('\n')}\n` : '');
    return this.count;
  }
}

export function imageBytesOf(imageSize: number): number {
  return imageSize * imageSize * 3;
}

export function writeMeta(dir: string, meta: DatasetMeta): void {
  fs.writeFileSync(path.join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

/** An opened dataset artifact. Image files are read lazily, once per split. */
export interface Dataset {
  dir: string;
  meta: DatasetMeta;
  samples(split: Split): DatasetSample[];
  /** Zero-copy view of one image (S×S×3 uint8). */
  image(split: Split, index: number): Uint8Array;
  /** Images at `indices`, as one N×S×S×3 Float32Array scaled to [0, 1]. */
  batch(split: Split, indices: readonly number[]): Float32Array;
  labelIds(split: Split, indices: readonly number[]): Int32Array;
}

function corrupt(dir: string, file: string, why: string): ClgrpoError {
  return new ClgrpoError(ErrorType.ArtifactCorrupt, `dataset ${dir}: ${file} ${why}; re-run the dataset stage or run \`clgrpo verify\``,
    { details: { dir, file } });
}

function readMeta(dir: string): DatasetMeta {
  const file = path.join(dir, 'meta.json');
  if (!fs.existsSync(file)) {
    throw new ClgrpoError(ErrorType.Config, `${dir} is not a dataset artifact (no meta.json); point the stage at a dataset stage's output`);
  }
  const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as DatasetMeta;
  if (!Array.isArray(meta.labels) || !Number.isInteger(meta.imageSize) || meta.channels !== 3) {
    throw corrupt(dir, 'meta.json', 'lacks labels, an integer imageSize or channels: 3');
  }
  return meta;
}

export function openDataset(dir: string): Dataset {
  const meta = readMeta(dir);
  const per = imageBytesOf(meta.imageSize);
  const sampleCache = new Map<Split, DatasetSample[]>();
  const imageCache = new Map<Split, Uint8Array>();

  const samples = (split: Split): DatasetSample[] => {
    let xs = sampleCache.get(split);
    if (!xs) {
      const file = `samples-${split}.jsonl`;
      const text = fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : '';
      xs = text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as DatasetSample);
      if (xs.length !== (meta.splits[split] ?? 0)) throw corrupt(dir, file, `has ${xs.length} samples, meta.json says ${meta.splits[split]}`);
      sampleCache.set(split, xs);
    }
    return xs;
  };
  const images = (split: Split): Uint8Array => {
    let buf = imageCache.get(split);
    if (!buf) {
      const file = `images-${split}.u8`;
      const n = meta.splits[split] ?? 0;
      buf = n === 0 ? new Uint8Array(0) : new Uint8Array(fs.readFileSync(path.join(dir, file)));
      if (buf.length !== n * per) throw corrupt(dir, file, `has ${buf.length} bytes, expected ${n} × ${per}`);
      imageCache.set(split, buf);
    }
    return buf;
  };
  const checkIndex = (split: Split, i: number) => {
    const n = meta.splits[split] ?? 0;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${split} index ${i} out of range [0, ${n})`);
  };

  return {
    dir,
    meta,
    samples,
    image(split, i) {
      checkIndex(split, i);
      return images(split).subarray(i * per, (i + 1) * per);
    },
    batch(split, indices) {
      const all = images(split);
      const out = new Float32Array(indices.length * per);
      indices.forEach((i, k) => {
        checkIndex(split, i);
        const o = k * per, src = i * per;
        for (let j = 0; j < per; j++) out[o + j] = all[src + j] / 255;
      });
      return out;
    },
    labelIds(split, indices) {
      const xs = samples(split);
      return Int32Array.from(indices, (i) => { checkIndex(split, i); return xs[i].labelId; });
    },
  };
}

/** Encode one S×S×3 image as PNG (for teachers that take images as base64 data URLs). */
export async function encodePng(image: Uint8Array, imageSize: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(image.buffer, image.byteOffset, image.byteLength), { raw: { width: imageSize, height: imageSize, channels: 3 } })
    .png()
    .toBuffer();
}

/** `data:image/png;base64,...` of one image. */
export async function pngDataUrl(image: Uint8Array, imageSize: number): Promise<string> {
  return `data:image/png;base64,${(await encodePng(image, imageSize)).toString('base64')}`;
}

/** Stops a long write when the stage is cancelled, as the typed Cancelled error the wrapper expects. */
export function throwIfCancelled(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new ClgrpoError(ErrorType.Cancelled, `${where}: cancelled`, { cause: signal.reason });
}
