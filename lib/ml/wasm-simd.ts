// WebAssembly SIMD matmuls for the one-token decode step (issue 14). Scalar JS tops out near
// 1.7 GMAC/s here because V8 does not vectorise; wasm's v128 ops do 2 or 4 multiply-adds at a time.
// The module (~1 KB) is emitted below by a minimal encoder for just the opcodes it uses (no toolchain,
// no dependency) and compiled once at load time; `simdSupported` is false where the engine rejects
// SIMD (`WebAssembly.validate`), and decode-js.ts then keeps its scalar loops.
// Kernel: out[B, N] = x[B, K] · W[K, N], W row-major with N contiguous (padded to 8) so one v128
// load covers 2 or 4 outputs; blocks of 4 rows × 8 columns keep 8 v128 accumulators, each x[b, k]
// is loaded once as a splat and each W row load serves 4 rows; leftover rows go one at a time.
// Deterministic: mul then add (no FMA, no relaxed-simd), k in order 0..K-1, so an output does not
// depend on B or on the block its row lands in. Two accumulations (PRECISION):
//  - f32 (f32x4): 10–15 GMAC/s on one core here, float32 sums: within 1e-5 of the float64 result,
//    but its rounding moved `small` greedy log-probs 1.6e-5 off kernel-pins' TF.js pins;
//  - f64 (f64x2, what decode-js uses): 5–7 GMAC/s, the scalar JS loops' exact arithmetic (float32
//    inputs, exact products, double sums in k order), so SIMD and scalar decoding agree bit for bit.
// Exports: simdSupported, SimdMemory (weights and buffers in one WebAssembly.Memory, the raw
//          kernels), SimdMatrix, SimdPrecision, matmulSimd (one-shot, for tests).

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
const [BLOCK, LOOP, END] = [[0x02, 0x40], [0x03, 0x40], [0x0b]];
const br = (depth: number) => [0x0c, depth];
const brIf = (depth: number) => [0x0d, depth];
/** SIMD ops: prefix 0xfd, opcode as LEB128; memory ops carry (log2 alignment, offset). */
const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];
const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset: number) => simd(0x0b, 4, ...uleb(offset));
const v128Zero = () => simd(0x0c, ...new Array<number>(16).fill(0));

/**
 * The accumulations. 'f32': f32x4 lanes, x[b, k] loaded as a splat, sums in float32, out float32.
 * 'f64': x and weights float64 (holding float32 values, so products are exact), f64x2 sums in k order,
 * out rounded once to float32 ('f64') or kept ('f64out'): the arithmetic of the scalar JS loops (double
 * sums in k order), so the two agree bit for bit, at half the lanes.
 */
interface Precision { x: 4 | 8; w: 4 | 8; out: 4 | 8; splatX: number[]; mul: number[]; add: number[]; store: (c: number) => number[] }
const F64 = { x: 8, w: 8, splatX: simd(0x0a, 3, 0), mul: simd(0xf2), add: simd(0xf0) } as const; // v128.load64_splat, f64x2.mul, f64x2.add
const PRECISION = {
  f32: { x: 4, w: 4, out: 4, splatX: simd(0x09, 2, 0), mul: simd(0xe6), add: simd(0xe4), store: (c: number) => v128Store(16 * c) },
  // f32x4.demote_f64x2_zero, then v128.store64_lane of lane 0 (two float32s)
  f64: { ...F64, out: 4, store: (c: number) => [...simd(0x5e), ...simd(0x5b, 3, ...uleb(8 * c), 0)] },
  f64out: { ...F64, out: 8, store: (c: number) => v128Store(16 * c) },
} satisfies Record<string, Precision>;

// Locals: params x, B, K, w, N, ldw, out, ldo (byte offsets, counts, row strides in elements), then scratch.
const [X, B, K, W, N, LDW, OUT, LDO] = [0, 1, 2, 3, 4, 5, 6, 7];
const PARAMS = 8;
const [ROW, COL, KK, WP, OP, K4, STRIDE, P0] = [8, 9, 10, 11, 12, 13, 14, 15];
const MAX_R = 4;
const MAX_C = 4;
const ACC = P0 + MAX_R; // 8 accumulators (R × C <= 8), then R row splats, then C weight vectors
const XS = ACC + 8;
const WV = XS + MAX_R;

/** Rows ROW.. in blocks of R (while ROW + R <= B), columns in blocks of C v128s (R × C <= 8). */
function rowBlocks(R: number, C: number, p: Precision): number[] {
  const rc = (r: number, c: number) => ACC + r * C + c;
  const each = <T>(n: number, f: (i: number) => T[]) => Array.from({ length: n }, (_, i) => f(i)).flat();
  const kLoop = [
    ...LOOP,
    ...each(C, (c) => [...get(WP), ...v128Load(16 * c), ...set(WV + c)]),
    ...each(R, (r) => [...get(P0 + r), ...p.splatX, ...set(XS + r)]),
    ...each(R, (r) => each(C, (c) => [...get(rc(r, c)), ...get(XS + r), ...get(WV + c), ...p.mul, ...p.add, ...set(rc(r, c))])),
    ...each(R, (r) => [...get(P0 + r), ...i32(p.x), ...ADD, ...set(P0 + r)]),
    ...get(WP), ...get(STRIDE), ...ADD, ...set(WP),
    ...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0),
    ...END,
  ];
  const colLoop = [
    ...BLOCK, ...LOOP,
    ...get(COL), ...get(N), ...GE_S, ...brIf(1),
    ...each(R * C, (i) => [...v128Zero(), ...set(ACC + i)]),
    ...each(R, (r) => [...get(X), ...get(ROW), ...i32(r), ...ADD, ...get(K4), ...MUL, ...ADD, ...set(P0 + r)]),
    ...get(W), ...get(COL), ...i32(p.w), ...MUL, ...ADD, ...set(WP),
    ...get(K), ...set(KK),
    ...kLoop,
    ...each(R, (r) => [
      ...get(OUT), ...get(ROW), ...i32(r), ...ADD, ...get(LDO), ...MUL, ...get(COL), ...ADD, ...i32(p.out), ...MUL, ...ADD, ...set(OP),
      ...each(C, (c) => [...get(OP), ...get(rc(r, c)), ...p.store(c)]),
    ]),
    ...get(COL), ...i32((16 / p.w) * C), ...ADD, ...set(COL),
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
  const lanes = 16 / p.w;
  const body = [
    ...vec([[...uleb(ACC - PARAMS), I32], [...uleb(8 + MAX_R + MAX_C), V128]]),
    ...get(K), ...i32(p.x), ...MUL, ...set(K4),
    ...get(LDW), ...i32(p.w), ...MUL, ...set(STRIDE),
    ...rowBlocks(MAX_R, 2, p),
    ...rowBlocks(1, 8 / lanes, p),
    ...END,
  ];
  return [...uleb(body.length), ...body];
}

/**
 * The module: imports env.mem; exports one kernel per PRECISION entry, each (x, B, K, w, N, ldw, out,
 * ldo): out[b, j] (row stride ldo) = Σ_k x[b, k] (row stride K) · w[k, j] (row stride ldw) for j < N,
 * element types as the entry says; needs K >= 1 and N a multiple of 8.
 */
const KERNELS = ['f32', 'f64', 'f64out'] as const;
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

export type SimdPrecision = 'f32' | 'f64';
/** A matrix in a SimdMemory: [K, Np] float32 or float64 at byte offset `off`, columns N..Np-1 zero. */
export interface SimdMatrix { off: number; K: number; N: number; Np: number; precision: SimdPrecision }

const PAGE = 65536;
type Kernel = (x: number, B: number, K: number, w: number, N: number, ldw: number, out: number, ldo: number) => void;

/**
 * One WebAssembly.Memory with the kernel bound to it and a bump allocator. Growing the memory
 * detaches every Float32Array view of it: allocate first, then take views (`view`).
 */
export class SimdMemory {
  readonly memory: WasmMemory;
  private top = 16;
  /** The raw kernels (see moduleBytes): byte offsets, unchecked; for hot loops whose bounds are known. */
  readonly kernels: Record<(typeof KERNELS)[number], Kernel>;

  constructor() {
    if (!compiled) throw new Error('SimdMemory: this engine has no WebAssembly SIMD; use the scalar path (simdSupported is false)');
    this.memory = new wasm!.Memory({ initial: 1 });
    const inst = new wasm!.Instance(compiled, { env: { mem: this.memory } });
    this.kernels = Object.fromEntries(KERNELS.map((k) => [k, inst.exports[k] as Kernel])) as SimdMemory['kernels'];
  }

  /** Byte offset of n fresh floats (of `bytes` each), 16-byte aligned (contents unspecified). */
  alloc(n: number, bytes = 4): number {
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
   * doubles for the f64 kernel (x then a Float64Array, out float32).
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
  const wide = precision === 'f64';
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
