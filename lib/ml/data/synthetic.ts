// The synthetic task's generator: draws a label, a set of attributes that imply it
// (synthetic-rules.ts), optional label noise and unclear attributes, and renders an S×S RGB image
// (uint8, HWC) of shapes whose colours, light, layout, edges, count and size show the attributes.
// Every draw comes from one Rng, so a split is a pure function of (seed, split, n, options).
import { rngFor, type Rng } from '../../rng';
import {
  ATTRIBUTE_NAMES, COMBINATIONS_BY_LABEL, LABELS, confusableLabels, labelId, phraseOf,
  type AttributeName, type Label, type SyntheticAttributes,
} from './synthetic-rules';
import { renderScene, type Shape, type ShapeKind } from './render';

export interface SyntheticOptions {
  /** Image side in pixels (default 32). */
  imageSize?: number;
  /** Probability that a sample's label is replaced by a confusable class (default 0.15). */
  noise?: number;
  /** Probability that a sample has one attribute rendered in between its levels and recorded as null (default 0). */
  ambiguity?: number;
}

/** Recorded attributes: null marks an attribute rendered ambiguously ("unclear"). */
export type RecordedAttributes = Record<AttributeName, string | null>;

export interface SyntheticSample {
  label: Label;
  labelId: number;
  /** The label the (true) attributes imply; differs from `label` when `noisy`. */
  impliedLabel: Label;
  noisy: boolean;
  attributes: RecordedAttributes;
  caption: string;
  /** S×S×3 uint8, row-major, HWC. */
  image: Uint8Array;
}

export const DEFAULT_NOISE = 0.15;
export const DEFAULT_IMAGE_SIZE = 32;

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

/** A compact description of the recorded attributes, used as the caption-pretraining target. */
export function captionOf(attrs: RecordedAttributes): string {
  return ATTRIBUTE_NAMES.map((n) => (attrs[n] === null ? `unclear ${n}` : phraseOf(n, attrs[n] as string))).join(', ');
}

/** Scene parameters for one attribute set; `unclear` names the attribute drawn in between its levels. */
function sceneFor(rng: Rng, a: SyntheticAttributes, unclear: AttributeName | null, S: number): { bg: [number, number, number]; shapes: Shape[] } {
  const mid = (name: AttributeName) => unclear === name;
  // Hue in degrees: warm 340..50, cool 180..270, unclear = greens that are neither.
  const hue = mid('palette') ? uniform(rng, 95, 145) : a.palette === 'warm' ? (uniform(rng, -20, 50) + 360) % 360 : uniform(rng, 180, 270);
  const bgValue = mid('light') ? uniform(rng, 0.42, 0.55) : a.light === 'bright' ? uniform(rng, 0.8, 0.95) : uniform(rng, 0.08, 0.22);
  const bg = hsv((hue + uniform(rng, -25, 25) + 360) % 360, uniform(rng, 0.1, 0.3), bgValue);
  const count = mid('clutter') ? 4 + rng.int(2) : a.clutter === 'busy' ? 6 + rng.int(4) : 2 + rng.int(2);
  const shapes: Shape[] = [];
  for (let i = 0; i < count; i++) {
    const r = S * (mid('scale') ? uniform(rng, 0.12, 0.145) : a.scale === 'large' ? uniform(rng, 0.17, 0.23) : uniform(rng, 0.075, 0.105));
    const x = uniform(rng, 0.1 * S, 0.9 * S);
    const y = mid('layout') ? uniform(rng, 0.1 * S, 0.9 * S) : a.layout === 'rising' ? uniform(rng, 0.08 * S, 0.46 * S) : uniform(rng, 0.54 * S, 0.92 * S);
    const kind: ShapeKind = mid('edges') ? 'octagon'
      : a.edges === 'angular' ? (['triangle', 'diamond', 'star'] as const)[rng.int(3)] : (['circle', 'ellipse'] as const)[rng.int(2)];
    const sat = mid('colour') ? uniform(rng, 0.42, 0.55) : a.colour === 'vivid' ? uniform(rng, 0.75, 1) : uniform(rng, 0.12, 0.3);
    // Shapes keep a luminance contrast with the background so muted shapes stay visible.
    const value = bgValue > 0.6 ? uniform(rng, 0.45, 0.68) : bgValue < 0.3 ? uniform(rng, 0.5, 0.8) : uniform(rng, 0.8, 0.95);
    const color = hsv((hue + uniform(rng, -15, 15) + 360) % 360, sat, value);
    shapes.push({ kind, x, y, r, angle: uniform(rng, 0, 2 * Math.PI), aspect: uniform(rng, 0.55, 0.8), color });
  }
  return { bg, shapes };
}

/** HSV (h in degrees, s and v in [0,1]) to RGB in [0,1]. */
export function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/** One sample from the stream `rng`. */
export function generateSample(rng: Rng, opts: SyntheticOptions = {}): SyntheticSample {
  const S = opts.imageSize ?? DEFAULT_IMAGE_SIZE;
  const noise = opts.noise ?? DEFAULT_NOISE;
  const ambiguity = opts.ambiguity ?? 0;
  const impliedLabel = LABELS[rng.int(LABELS.length)];
  const combos = COMBINATIONS_BY_LABEL[impliedLabel];
  const truth = combos[rng.int(combos.length)];
  const noisy = rng.next() < noise;
  const label = noisy ? confusableLabels(impliedLabel)[rng.int(3)] : impliedLabel;
  const unclear = rng.next() < ambiguity ? ATTRIBUTE_NAMES[rng.int(ATTRIBUTE_NAMES.length)] : null;
  const attributes = { ...truth } as RecordedAttributes;
  if (unclear) attributes[unclear] = null;
  const scene = sceneFor(rng, truth, unclear, S);
  const image = renderScene(S, scene.bg, scene.shapes, rng, 0.035);
  return { label, labelId: labelId(label), impliedLabel, noisy, attributes, caption: captionOf(attributes), image };
}

/** The samples of one split, lazily: deterministic from (seed, split, options). */
export function* iterateSplit(seed: number, split: string, n: number, opts: SyntheticOptions = {}): Generator<SyntheticSample> {
  const rng = rngFor(seed, 'dataset', split);
  for (let i = 0; i < n; i++) yield generateSample(rng, opts);
}

export function generateSplit(seed: number, split: string, n: number, opts: SyntheticOptions = {}): SyntheticSample[] {
  return [...iterateSplit(seed, split, n, opts)];
}
