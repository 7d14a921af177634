// WebAssembly SIMD matmuls for the one-token decode step (issue 14). Scalar JS tops out near
// 1.7 GMAC/s here because V8 does not vectorise; wasm's v128 ops do 2 or 4 multiply-adds at a time.
// The module (~1 KB) is emitted below by a minimal encoder for just the opcodes it uses (no toolchain,
// no dependency) and compiled once at load time; `simdSupported` is false where the engine rejects
// SIMD (`WebAssembly.validate`), and decode-js.ts then keeps its scalar loops.
// Kernel: out[B, N] = x[B, K] · W[K, N], W row-major with N contiguous (padded to 8) so one v128
// load covers 2 or 4 outputs; blocks of 4 rows × 8 columns keep 8 v128 accumulators, each x[b, k]
// is loaded once as a splat and each W row load serves 4 rows; leftover rows go one at a time.
// Deterministic: mul then add (no FMA, no relaxed-simd), k in order 0..K-1, so an output does not
// depend on B or on the block its row lands in. Three accumulations (PRECISION):
//  - f32 (f32x4): 10–15 GMAC/s on one core here, float32 products and sums over all of k;
//  - f32b (what decode-js's projections use): f32x4 sums over blocks of BLOCK_K values of k, each
//    block's lanes promoted and added into f64x2 sums: 8–14 GMAC/s, the rounding of a 32-term
//    float32 sum per block (products rounded to float32 too) rather than of a K-term one;
//  - f64 (f64x2): 5–7 GMAC/s, the scalar JS loops' exact arithmetic (float32 inputs, exact products,
//    double sums in k order); f64w32 (attention's) the same on float32 weights, out in float64.
// `small`'s greedy log-probs against kernel-pins' TF.js pins (limit 1e-5, max |diff| over 36 of them):
// f64 9.1e-6; f32b with one block over all of k 9.0e-6, blocks of 4/8/16/32/64/128
// 9.6/9.3/11.0/7.6/6.7/12.8e-6: noise of that scale whatever the sums (the pins' own float32 rounding
// included); BLOCK_K = 32 is the one with room at this size.
// Exports: simdSupported, SimdMemory (weights and buffers in one WebAssembly.Memory, the raw
//          kernels; recycled for the next one), SimdMatrix, SimdPrecision, BLOCK_K, matmulSimd
//          (one-shot, for tests).

// --- encoder: LEB128 numbers, sections, and the few instructions the kernel needs ---------------
const uleb = (n: number): number[] => { const o: number[] = []; do { const b = n & 0x7f; n >>>= 7; o.push(n ? b | 0x80 : b); } while (n); return o; };
const sleb = (n: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { o.push(b); return o; }
    o.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const [ADD, SUB, MUL, GT_S, GE_S] = [[0x6a], [0x6b], [0x6c], [0x4a], [0x4e]];
const [BLOCK, LOOP, END, SELECT] = [[0x02, 0x40], [0x03, 0x40], [0x0b], [0x1b]];
const br = (depth: number) => [0x0c, depth];
const brIf = (depth: number) => [0x0d, depth];
/** SIMD ops: prefix 0xfd, opcode as LEB128; memory ops carry (log2 alignment, offset). */
const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];
const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset: number) => simd(0x0b, 4, ...uleb(offset));
const v128Zero = () => simd(0x0c, ...new Array<number>(16).fill(0));
const PROMOTE_LOW = simd(0x5f); // f64x2.promote_low_f32x4

/**
 * The accumulations. 'f32': f32x4 lanes, x[b, k] loaded as a splat, sums in float32, out float32;
 * 'f32b': the same in blocks of `block` k values, block sums added in f64x2, out rounded once.
 * 'f64': x and weights float64 (holding float32 values, so products are exact), f64x2 sums in k order,
 * out rounded once to float32: the arithmetic of the scalar JS loops (double sums in k order), so the
 * two agree bit for bit, at half the lanes. 'f64w32' (attention's): the same sums over float32 weights,
 * each pair promoted to f64x2 as loaded (the same exact products), out kept in float64: attention
 * reads the whole KV cache each step, and float32 storage halves those bytes, not the precision (small,
 * 8 rows: a decode step 3.0 → 2.4 ms here).
 */
interface Precision {
  x: 4 | 8; w: 4 | 8; out: 4 | 8;
  /** Outputs per weight vector (its lanes), and the code loading weight vector c of a row. */
  lanes: 2 | 4; loadW: (c: number) => number[];
  splatX: number[]; mul: number[]; add: number[]; store: (c: number) => number[]; block?: number;
}
const F64 = { x: 8, w: 8, lanes: 2, loadW: (c: number) => v128Load(16 * c), splatX: simd(0x0a, 3, 0), mul: simd(0xf2), add: simd(0xf0) } as const; // v128.load64_splat, f64x2.mul, f64x2.add
const F32 = { x: 4, w: 4, out: 4, lanes: 4, loadW: (c: number) => v128Load(16 * c), splatX: simd(0x09, 2, 0), mul: simd(0xe6), add: simd(0xe4) } as const; // v128.load32_splat, f32x4.mul, f32x4.add
/** k values per float32 partial sum of the blocked kernel: its rounding is that of a BLOCK-term float32 sum. */
export const BLOCK_K = 32;
const PRECISION = {
  f32: { ...F32, store: (c: number) => v128Store(16 * c) },
  // f32x4 sums over blocks of BLOCK_K values of k, each block's sums added into f64x2 (stored by rowBlocks)
  f32b: { ...F32, store: () => [], block: BLOCK_K },
  // f32x4.demote_f64x2_zero, then v128.store64_lane of lane 0 (two float32s)
  f64: { ...F64, out: 4, store: (c: number) => [...simd(0x5e), ...simd(0x5b, 3, ...uleb(8 * c), 0)] },
  // float32 weights, two per v128.load64_zero, promoted to f64x2: the f64 arithmetic on half the bytes
  f64w32: { ...F64, w: 4, out: 8, loadW: (c: number) => [...simd(0x5d, 3, ...uleb(8 * c)), ...PROMOTE_LOW], store: (c: number) => v128Store(16 * c) },
} satisfies Record<string, Precision>;
const F64X2_ADD = simd(0xf0);
const HIGH_HALF = simd(0x0d, ...[8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]); // i8x16.shuffle: lanes 2, 3 to 0, 1
const DEMOTE = simd(0x5e); // f32x4.demote_f64x2_zero
const storeLane64 = (offset: number) => simd(0x5b, 3, ...uleb(offset), 0); // v128.store64_lane, lane 0

// Locals: params x, B, K, w, N, ldw, out, ldo (byte offsets, counts, row strides in elements), then scratch.
const [X, B, K, W, N, LDW, OUT, LDO] = [0, 1, 2, 3, 4, 5, 6, 7];
const PARAMS = 8;
const [ROW, COL, KK, WP, OP, K4, STRIDE, P0] = [8, 9, 10, 11, 12, 13, 14, 15];
const MAX_R = 4;
const MAX_C = 4;
const KB = P0 + MAX_R; // blocked kernel: k values left in the current block
const ACC = KB + 1; // 8 accumulators (R × C <= 8), then R row splats, C weight vectors, 16 f64x2 block sums
const XS = ACC + 8;
const WV = XS + MAX_R;
const DACC = WV + MAX_C;

/** Rows ROW.. in blocks of R (while ROW + R <= B), columns in blocks of C v128s (R × C <= 8). */
function rowBlocks(R: number, C: number, p: Precision): number[] {
  const rc = (r: number, c: number) => ACC + r * C + c;
  const each = <T>(n: number, f: (i: number) => T[]) => Array.from({ length: n }, (_, i) => f(i)).flat();
  const kStep = (counter: number) => [
    ...LOOP,
    ...each(C, (c) => [...get(WP), ...p.loadW(c), ...set(WV + c)]),
    ...each(R, (r) => [...get(P0 + r), ...p.splatX, ...set(XS + r)]),
    ...each(R, (r) => each(C, (c) => [...get(rc(r, c)), ...get(XS + r), ...get(WV + c), ...p.mul, ...p.add, ...set(rc(r, c))])),
    ...each(R, (r) => [...get(P0 + r), ...i32(p.x), ...ADD, ...set(P0 + r)]),
    ...get(WP), ...get(STRIDE), ...ADD, ...set(WP),
    ...get(counter), ...i32(1), ...SUB, ...tee(counter), ...brIf(0),
    ...END,
  ];
  const zeroAcc = each(R * C, (i) => [...v128Zero(), ...set(ACC + i)]);
  // Blocked: KB = min(block, KK) values of k in float32, then each lane pair promoted and added into
  // its f64x2 sum; blocks start at k = 0 for every row, so the order does not depend on B either.
  const dacc = (i: number, half: number) => DACC + 2 * i + half;
  const kLoop = !p.block ? kStep(KK) : [
    ...each(2 * R * C, (i) => [...v128Zero(), ...set(DACC + i)]),
    ...LOOP,
    ...i32(p.block), ...get(KK), ...get(KK), ...i32(p.block), ...GT_S, ...SELECT, ...set(KB),
    ...get(KK), ...get(KB), ...SUB, ...set(KK),
    ...zeroAcc,
    ...kStep(KB),
    ...each(R * C, (i) => [
      ...get(dacc(i, 0)), ...get(ACC + i), ...PROMOTE_LOW, ...F64X2_ADD, ...set(dacc(i, 0)),
      ...get(dacc(i, 1)), ...get(ACC + i), ...get(ACC + i), ...HIGH_HALF, ...PROMOTE_LOW, ...F64X2_ADD, ...set(dacc(i, 1)),
    ]),
    ...get(KK), ...brIf(0),
    ...END,
  ];
  const store = (r: number, c: number) => (!p.block ? [...get(OP), ...get(rc(r, c)), ...p.store(c)] : [
    ...get(OP), ...get(dacc(r * C + c, 0)), ...DEMOTE, ...storeLane64(16 * c),
    ...get(OP), ...get(dacc(r * C + c, 1)), ...DEMOTE, ...storeLane64(16 * c + 8),
  ]);
  const colLoop = [
    ...BLOCK, ...LOOP,
    ...get(COL), ...get(N), ...GE_S, ...brIf(1),
    ...(p.block ? [] : zeroAcc),
    ...each(R, (r) => [...get(X), ...get(ROW), ...i32(r), ...ADD, ...get(K4), ...MUL, ...ADD, ...set(P0 + r)]),
    ...get(W), ...get(COL), ...i32(p.w), ...MUL, ...ADD, ...set(WP),
    ...get(K), ...set(KK),
    ...kLoop,
    ...each(R, (r) => [
      ...get(OUT), ...get(ROW), ...i32(r), ...ADD, ...get(LDO), ...MUL, ...get(COL), ...ADD, ...i32(p.out), ...MUL, ...ADD, ...set(OP),
      ...each(C, (c) => store(r, c)),
    ]),
    ...get(COL), ...i32(p.lanes * C), ...ADD, ...set(COL),
    ...br(0),
    ...END, ...END,
  ];
  return [
    ...BLOCK, ...LOOP,
    ...get(ROW), ...i32(R), ...ADD, ...get(B), ...GT_S, ...brIf(1),
    ...i32(0), ...set(COL),
    ...colLoop,
    ...get(ROW), ...i32(R), ...ADD, ...set(ROW),
    ...br(0),
    ...END, ...END,
  ];
}

/**
 * One kernel's code: rows in blocks of 4 × 8 columns, then one row at a time (8 columns: in f64, 4
 * v128s, so a lone row, as in attention, still has 4 independent sums per pass).
 */
function kernelBody(p: Precision): number[] {
  const body = [
    ...vec([[...uleb(ACC - PARAMS), I32], [...uleb(8 + MAX_R + MAX_C + 16), V128]]),
    ...get(K), ...i32(p.x), ...MUL, ...set(K4),
    ...get(LDW), ...i32(p.w), ...MUL, ...set(STRIDE),
    ...rowBlocks(MAX_R, 2, p),
    ...rowBlocks(1, 8 / p.lanes, p),
    ...END,
  ];
  return [...uleb(body.length), ...body];
}

/**
 * The module: imports env.mem; exports one kernel per PRECISION entry, each (x, B, K, w, N, ldw, out,
 * ldo): out[b, j] (row stride ldo) = Σ_k x[b, k] (row stride K) · w[k, j] (row stride ldw) for j < N,
 * element types as the entry says; needs K >= 1 and N a multiple of 8.
 */
const KERNELS = ['f32', 'f32b', 'f64', 'f64w32'] as const;
function moduleBytes(): Uint8Array {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(PARAMS).fill([I32])), 0x00]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(KERNELS.map(() => [0x00]))),
    ...section(7, vec(KERNELS.map((k, i) => [...name(k), 0x00, i]))),
    ...section(10, vec(KERNELS.map((k) => kernelBody(PRECISION[k])))),
  ]);
}

/** The part of the WebAssembly API used here (the project's TS lib has no WebAssembly types). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (limits: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const BYTES = moduleBytes();
/** False where the engine has no WebAssembly SIMD; callers keep their scalar path. */
export const simdSupported: boolean = wasm !== undefined && wasm.validate(BYTES);
const compiled = simdSupported ? new wasm!.Module(BYTES) : undefined;

export type SimdPrecision = 'f32' | 'f32b' | 'f64';
/** A matrix in a SimdMemory: [K, Np] float32 or float64 at byte offset `off`, columns N..Np-1 zero. */
export interface SimdMatrix { off: number; K: number; N: number; Np: number; precision: SimdPrecision }

const PAGE = 65536;
type Kernel = (x: number, B: number, K: number, w: number, N: number, ldw: number, out: number, ldo: number) => void;

/**
 * The memory of the last recycled SimdMemory, taken by the next one: a fresh memory's pages fault in
 * on first touch, which made decode-js's prepare and start 2–4× slower here (~20 ms of a ~300 ms
 * generation of small, 8 rows); a recycled one's pages are already mapped. One is kept (the largest).
 */
let spare: WasmMemory | undefined;

/**
 * One WebAssembly.Memory with the kernel bound to it and a bump allocator. Growing the memory
 * detaches every Float32Array view of it: allocate first, then take views (`view`).
 */
export class SimdMemory {
  readonly memory: WasmMemory;
  private top = 16;
  private recycled = false;
  /** The raw kernels (see moduleBytes): byte offsets, unchecked; for hot loops whose bounds are known. */
  readonly kernels: Record<(typeof KERNELS)[number], Kernel>;

  constructor() {
    if (!compiled) throw new Error('SimdMemory: this engine has no WebAssembly SIMD; use the scalar path (simdSupported is false)');
    this.memory = spare ?? new wasm!.Memory({ initial: 1 });
    spare = undefined;
    const inst = new wasm!.Instance(compiled, { env: { mem: this.memory } });
    this.kernels = Object.fromEntries(KERNELS.map((k) => [k, inst.exports[k] as Kernel])) as SimdMemory['kernels'];
  }

  /**
   * Hands the memory to the next SimdMemory (contents kept: its allocations are unspecified anyway).
   * This one, its views and kernels must not be used again; alloc and matmul refuse to.
   */
  recycle(): void {
    if (this.recycled) return;
    this.recycled = true;
    if (!spare || spare.buffer.byteLength < this.memory.buffer.byteLength) spare = this.memory;
  }

  private live(what: string): void {
    if (this.recycled) throw new Error(`SimdMemory.${what}: this memory was recycled (handed to a newer SimdMemory); make a new one`);
  }

  /** Byte offset of n fresh floats (of `bytes` each), 16-byte aligned (contents unspecified). */
  alloc(n: number, bytes = 4): number {
    this.live('alloc');
    const off = this.top;
    this.top += Math.ceil((n * bytes) / 16) * 16;
    const need = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) this.memory.grow(need);
    return off;
  }

  /** Everything allocated after `mark()` is freed by `release(mark)`. */
  mark(): number { return this.top; }
  release(mark: number): void { this.top = mark; }

  view(off: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, off, n); }
  view64(off: number, n: number): Float64Array { return new Float64Array(this.memory.buffer, off, n); }

  /**
   * Copies w [K, N] (x @ w layout), row k scaled by g[k] and rounded to float32 (as a Float32Array
   * of the scaled weights would hold them), padding columns to a multiple of 8; 'f64' stores them as
   * doubles for the f64 kernel (x then a Float64Array, out float32); 'f32' and 'f32b' as floats.
   */
  putMatrix(w: ArrayLike<number>, K: number, N: number, g?: ArrayLike<number>, precision: SimdPrecision = 'f32'): SimdMatrix {
    const Np = Math.ceil(N / 8) * 8;
    const bytes = PRECISION[precision].w;
    const off = this.alloc(K * Np, bytes);
    const dst = bytes === 8 ? new Float64Array(this.memory.buffer, off, K * Np) : this.view(off, K * Np);
    dst.fill(0);
    for (let k = 0; k < K; k++) {
      const s = g ? g[k] : 1;
      for (let j = 0; j < N; j++) dst[k * Np + j] = Math.fround(w[k * N + j] * s);
    }
    return { off, K, N, Np, precision };
  }

  /** out [B, m.Np] = x [B, m.K] · m; x (float32, or float64 for an 'f64' matrix) and out are views of this memory. */
  matmul(m: SimdMatrix, x: Float32Array | Float64Array, B: number, out: Float32Array): void {
    this.live('matmul');
    if (x.buffer !== this.memory.buffer || out.buffer !== this.memory.buffer) throw new Error('SimdMemory.matmul: x and out must be views of this memory (taken after the last alloc)');
    if (x.BYTES_PER_ELEMENT !== PRECISION[m.precision].x) throw new Error(`SimdMemory.matmul: x of ${x.BYTES_PER_ELEMENT}-byte floats for an ${m.precision} matrix`);
    if (x.length < B * m.K || out.length < B * m.Np) throw new Error(`SimdMemory.matmul: buffers of ${x.length} and ${out.length} floats for [${B}, ${m.K}] · [${m.K}, ${m.Np}]`);
    if (m.K === 0) out.fill(0, 0, B * m.Np); // the kernel's k loop runs at least once
    else if (B > 0) this.kernels[m.precision](x.byteOffset, B, m.K, m.off, m.Np, m.Np, out.byteOffset, m.Np);
  }
}

/** x [B, K] · w [K, N] → [B, N] through the SIMD kernel, in a fresh memory (tests, one-off uses). */
export function matmulSimd(x: ArrayLike<number>, B: number, K: number, w: ArrayLike<number>, N: number, precision: SimdPrecision = 'f32'): Float32Array {
  const mem = new SimdMemory();
  const m = mem.putMatrix(w, K, N, undefined, precision);
  const wide = PRECISION[precision].x === 8;
  const xo = mem.alloc(B * K, wide ? 8 : 4);
  const oo = mem.alloc(B * m.Np);
  const xv = wide ? mem.view64(xo, B * K) : mem.view(xo, B * K);
  xv.set(Array.from({ length: B * K }, (_, i) => x[i]));
  const ov = mem.view(oo, B * m.Np);
  mem.matmul(m, xv, B, ov);
  const out = new Float32Array(B * N);
  for (let b = 0; b < B; b++) out.set(ov.subarray(b * m.Np, b * m.Np + N), b * N);
  return out;
}
