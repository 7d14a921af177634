// Byte-level BPE tokenizer whose merges are learned from the task's own text (captions, prompts,
// label names, format tags, chains): plain bytes make a sample ~300 tokens, which a 2-core CPU
// cannot train on in time (DESIGN §9). Every byte has its own token, so any text round-trips
// exactly: decode(encode(s)) === s. Special tokens are matched as literal strings in the text.
// The tokenizer is saved in the model's config.json (toJSON) and carried to every later stage.
// Exports: Tokenizer (train, fromJSON, encode, decode, vocabSize, ids of specials), SPECIAL_TOKENS,
//          TokenizerJson.

export const SPECIAL_TOKENS = ['<|endoftext|>', '<image>', '<think>', '</think>', '<answer>', '</answer>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];
const N_SPECIAL = SPECIAL_TOKENS.length;
const BYTE0 = N_SPECIAL;
const FIRST_MERGE = BYTE0 + 256;

export interface TokenizerJson {
  type: 'bpe-bytes';
  version: 1;
  special: string[];
  /** Merge i produces token id FIRST_MERGE + i from the pair [left, right]. */
  merges: Array<[number, number]>;
}

// GPT-2 style pre-split: a word keeps its leading space; digits, punctuation and whitespace apart.
const PIECE_RE = / ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+/g;
const SPECIAL_RE = new RegExp(SPECIAL_TOKENS.map((s) => s.replace(/[|<>/]/g, (c) => `\\${c}`)).join('|'), 'g');

function pieces(text: string): string[] {
  return text.match(PIECE_RE) ?? [];
}

function bytesOf(piece: string): number[] {
  return Array.from(Buffer.from(piece, 'utf8'), (b) => b + BYTE0);
}

/** Splits text into [isSpecialId | text] runs. */
function splitSpecial(text: string): Array<number | string> {
  const out: Array<number | string> = [];
  let last = 0;
  for (const m of text.matchAll(SPECIAL_RE)) {
    if (m.index! > last) out.push(text.slice(last, m.index));
    out.push(SPECIAL_TOKENS.indexOf(m[0] as SpecialToken));
    last = m.index! + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export class Tokenizer {
  readonly merges: ReadonlyArray<[number, number]>;
  private readonly rank = new Map<string, number>();
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: Array<[number, number]>) {
    this.merges = merges;
    for (const s of SPECIAL_TOKENS) this.tokenBytes.push(Buffer.from(s, 'utf8'));
    for (let b = 0; b < 256; b++) this.tokenBytes.push(Uint8Array.of(b));
    merges.forEach(([a, b], i) => {
      this.rank.set(`${a},${b}`, i);
      this.tokenBytes.push(Buffer.concat([this.tokenBytes[a], this.tokenBytes[b]]));
    });
  }

  get vocabSize(): number { return FIRST_MERGE + this.merges.length; }
  get eos(): number { return 0; }
  /** Also used as the padding id (padded positions are always masked). */
  get pad(): number { return 0; }
  id(token: SpecialToken): number { return SPECIAL_TOKENS.indexOf(token); }

  /**
   * Learns merges until the vocabulary has `vocabSize` tokens or no pair occurs twice.
   * Deterministic: ties go to the smallest (left, right) pair.
   */
  static train(corpus: Iterable<string>, vocabSize: number): Tokenizer {
    const freq = new Map<string, number>();
    for (const text of corpus) {
      for (const run of splitSpecial(text)) {
        if (typeof run === 'number') continue;
        for (const p of pieces(run)) freq.set(p, (freq.get(p) ?? 0) + 1);
      }
    }
    const words = [...freq.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([p, n]) => ({ ids: bytesOf(p), n }));
    const merges: Array<[number, number]> = [];
    while (FIRST_MERGE + merges.length < vocabSize) {
      const counts = new Map<number, number>();
      for (const w of words) {
        for (let i = 0; i + 1 < w.ids.length; i++) {
          const key = w.ids[i] * 65536 + w.ids[i + 1];
          counts.set(key, (counts.get(key) ?? 0) + w.n);
        }
      }
      let best = -1;
      let bestN = 1;
      for (const [key, n] of counts) if (n > bestN || (n === bestN && n > 1 && key < best)) { best = key; bestN = n; }
      if (best < 0) break;
      const a = Math.floor(best / 65536);
      const b = best % 65536;
      const id = FIRST_MERGE + merges.length;
      merges.push([a, b]);
      for (const w of words) w.ids = mergePair(w.ids, a, b, id);
    }
    return new Tokenizer(merges);
  }

  static fromJSON(j: TokenizerJson): Tokenizer {
    if (j.type !== 'bpe-bytes' || j.version !== 1) throw new Error(`unknown tokenizer type ${j.type} v${j.version}`);
    if (j.special.join('\n') !== SPECIAL_TOKENS.join('\n')) throw new Error('tokenizer special tokens differ from this code');
    return new Tokenizer(j.merges.map(([a, b]) => [a, b]));
  }

  toJSON(): TokenizerJson {
    return { type: 'bpe-bytes', version: 1, special: [...SPECIAL_TOKENS], merges: this.merges.map(([a, b]) => [a, b]) };
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const run of splitSpecial(text)) {
      if (typeof run === 'number') { out.push(run); continue; }
      for (const p of pieces(run)) out.push(...this.encodePiece(p));
    }
    return out;
  }

  private encodePiece(p: string): number[] {
    const hit = this.cache.get(p);
    if (hit) return hit;
    let ids = bytesOf(p);
    for (;;) {
      let bestRank = Infinity;
      let bestI = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rank.get(`${ids[i]},${ids[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; bestI = i; }
      }
      if (bestI < 0) break;
      const [a, b] = this.merges[bestRank];
      ids = mergePair(ids, a, b, FIRST_MERGE + bestRank);
    }
    if (this.cache.size < 100_000) this.cache.set(p, ids);
    return ids;
  }

  /** Bytes of the tokens decoded as UTF-8 (invalid sequences become U+FFFD). */
  decode(ids: Iterable<number>): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      const b = this.tokenBytes[id];
      if (!b) throw new Error(`token id ${id} outside the vocabulary (size ${this.vocabSize})`);
      parts.push(b);
    }
    return Buffer.concat(parts).toString('utf8');
  }
}

function mergePair(ids: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) { out.push(id); i++; } else out.push(ids[i]);
  }
  return out;
}
