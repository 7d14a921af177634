// Seeded randomness with savable state. Every random draw in the project (init, shuffle,
// sampling, synthetic data) comes from an Rng built by `rngFor(seed, ...scope)`, so a draw is a
// pure function of (plan seed, stage, step) and a checkpoint can save and restore the stream.
import { createHash } from 'node:crypto';

/** A uint32 seed derived from the plan seed and a scope such as ('sft', 'shuffle', epoch). */
export function deriveSeed(seed: number, ...scope: Array<string | number>): number {
  const h = createHash('sha256').update(JSON.stringify([seed, ...scope])).digest();
  return h.readUInt32LE(0);
}

export type RngState = [number, number, number, number];

/** sfc32: small, fast, 128-bit state that fits in JSON. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(state: RngState) {
    [this.a, this.b, this.c, this.d] = state.map((x) => x >>> 0) as RngState;
  }

  static fromSeed(seed: number): Rng {
    const r = new Rng([0x9e3779b9, seed >>> 0, 0x243f6a88, 1]);
    for (let i = 0; i < 16; i++) r.nextUint32();
    return r;
  }

  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** The one helper that turns (plan seed, scope) into a generator. */
export function rngFor(seed: number, ...scope: Array<string | number>): Rng {
  return Rng.fromSeed(deriveSeed(seed, ...scope));
}
