// A tiny anti-aliased rasterizer for the synthetic task: filled circles, ellipses and polygons
// (triangle, diamond, star, octagon) drawn by signed distance onto a solid background, then
// Gaussian pixel noise. Plain loops over a bounding box per shape: at 32×32 this is far cheaper
// than any image library round trip, and it is deterministic to the bit.
import type { Rng } from '../../rng';

export type ShapeKind = 'circle' | 'ellipse' | 'triangle' | 'diamond' | 'star' | 'octagon';

export interface Shape {
  kind: ShapeKind;
  /** Centre and radius in pixels. */
  x: number;
  y: number;
  r: number;
  angle: number;
  /** Minor/major axis ratio of an ellipse. */
  aspect: number;
  /** RGB in [0, 1]. */
  color: [number, number, number];
}

type Pt = [number, number];

/** Vertices of a polygon shape around the origin. */
export function polygonOf(kind: ShapeKind, r: number, angle: number): Pt[] {
  const ring = (n: number, radius: (i: number) => number): Pt[] =>
    Array.from({ length: n }, (_, i) => {
      const t = angle + (2 * Math.PI * i) / n;
      return [radius(i) * Math.cos(t), radius(i) * Math.sin(t)];
    });
  switch (kind) {
    case 'triangle': return ring(3, () => r);
    case 'diamond': return ring(4, (i) => (i % 2 ? 0.6 * r : r));
    case 'star': return ring(10, (i) => (i % 2 ? 0.45 * r : r));
    case 'octagon': return ring(8, () => 0.95 * r);
    default: throw new RangeError(`${kind} is not a polygon`);
  }
}

/** Signed distance from p to a closed polygon (negative inside), valid for non-convex ones. */
export function polygonSdf(px: number, py: number, v: Pt[]): number {
  let d = Infinity;
  let inside = false;
  for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
    const [ax, ay] = v[j];
    const [bx, by] = v[i];
    const ex = bx - ax, ey = by - ay;
    const wx = px - ax, wy = py - ay;
    const t = Math.max(0, Math.min(1, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const dx = wx - ex * t, dy = wy - ey * t;
    d = Math.min(d, dx * dx + dy * dy);
    if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside ? -Math.sqrt(d) : Math.sqrt(d);
}

/** A distance function for one shape, in pixel units relative to its centre. */
function sdfOf(s: Shape): (dx: number, dy: number) => number {
  if (s.kind === 'circle') return (dx, dy) => Math.hypot(dx, dy) - s.r;
  if (s.kind === 'ellipse') {
    const c = Math.cos(s.angle), sn = Math.sin(s.angle);
    const a = s.r, b = s.r * s.aspect;
    // Scaled-circle approximation: exact on the axes, close enough elsewhere for 1-px anti-aliasing.
    return (dx, dy) => {
      const u = dx * c + dy * sn, w = -dx * sn + dy * c;
      return (Math.hypot(u / a, w / b) - 1) * b;
    };
  }
  const poly = polygonOf(s.kind, s.r, s.angle);
  return (dx, dy) => polygonSdf(dx, dy, poly);
}

/** Draw the shapes in order over `bg`, add N(0, sigma) noise per channel, quantize to uint8 HWC. */
export function renderScene(S: number, bg: [number, number, number], shapes: Shape[], rng: Rng, sigma: number): Uint8Array {
  const buf = new Float32Array(S * S * 3);
  for (let i = 0; i < S * S * 3; i += 3) { buf[i] = bg[0]; buf[i + 1] = bg[1]; buf[i + 2] = bg[2]; }
  for (const s of shapes) {
    const sdf = sdfOf(s);
    const x0 = Math.max(0, Math.floor(s.x - s.r - 1)), x1 = Math.min(S - 1, Math.ceil(s.x + s.r + 1));
    const y0 = Math.max(0, Math.floor(s.y - s.r - 1)), y1 = Math.min(S - 1, Math.ceil(s.y + s.r + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const alpha = Math.max(0, Math.min(1, 0.5 - sdf(x + 0.5 - s.x, y + 0.5 - s.y)));
        if (alpha === 0) continue;
        const o = (y * S + x) * 3;
        for (let c = 0; c < 3; c++) buf[o + c] += alpha * (s.color[c] - buf[o + c]);
      }
    }
  }
  const out = new Uint8Array(S * S * 3);
  for (let i = 0; i < out.length; i++) {
    const v = buf[i] + sigma * rng.normal();
    out[i] = Math.max(0, Math.min(255, Math.round(v * 255)));
  }
  return out;
}
