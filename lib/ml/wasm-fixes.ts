// Kernel fixes for TF.js 4.22's wasm backend, registered once by backend.ts after wasm is ready.
//  - UnsortedSegmentSum is missing on wasm, and tf.gather's gradient needs it: a plain JS kernel.
//  - BatchMatMul with a transpose flag (every matmul gradient) leaves XNNPACK for a slow loop:
//    the wrapper transposes the flagged operand first (a cheap wasm Transpose) and then calls the
//    original kernel with both flags off, which stays on the fast path.
//  - Batched (3-D/4-D) BatchMatMul — attention — runs a slow loop (~0.4 GFLOP/s here) while 2-D
//    matmuls use XNNPACK: the wrapper runs a batched product as one 2-D product per batch entry,
//    copying each slice into a reused scratch tensor in the wasm heap (~3× faster for attention).
//  - Identity copies its input on wasm, and the engine runs it for every tensor an op saves for its
//    gradient (hundreds per training step): the fix shares the buffer with a reference count, as the
//    cpu and webgl backends' Identity already do. Safe because no kernel writes into an input buffer
//    (Variable.assign swaps buffers, it never writes into one). Cast to the same dtype (every Mul
//    gradient casts its other operand to float32) shares the buffer the same way.
//  - Slice and SplitV read the whole input into a fresh JS array (readSync) once per output, then
//    copy rows with subarray/set: large inputs allocate megabytes per call and the garbage collector
//    makes their time erratic (2 ms to 18 ms for one q/k/v split). The fix copies each contiguous
//    run inside the wasm heap (copyWithin, a memmove) for 4-byte dtypes.
// Exports: applyWasmFixes(): string[] (names of the fixes applied).
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };
interface WasmBackendLike {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPF32: Float32Array };
}
type KernelFn = (args: KernelArgs) => TensorInfo;

let applied: string[] | undefined;

/** Registers the fixes on the wasm backend; idempotent. Call after tf.setBackend('wasm'). */
export function applyWasmFixes(): string[] {
  if (applied) return applied;
  applied = [];
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as never });
    applied.push('UnsortedSegmentSum:js');
  }
  const id = tf.getKernel('Identity', 'wasm');
  if (id) {
    const copy = id.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({
      kernelName: 'Identity',
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => (args.inputs.x.dtype === 'string' ? copy(args) : sharedIdentity(args))) as never,
    });
    applied.push('Identity:shared');
  }
  const cast = tf.getKernel('Cast', 'wasm');
  if (cast) {
    const convert = cast.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel('Cast', 'wasm');
    tf.registerKernel({
      kernelName: 'Cast',
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => (args.inputs.x.dtype === args.attrs.dtype && args.inputs.x.dtype !== 'string' ? sharedIdentity(args) : convert(args))) as never,
    });
    applied.push('Cast:same-dtype-shared');
  }
  const sl = tf.getKernel('Slice', 'wasm');
  const sp = tf.getKernel('SplitV', 'wasm');
  if (sl && sp) {
    const origSlice = sl.kernelFunc as unknown as KernelFn;
    const origSplit = sp.kernelFunc as unknown as (args: KernelArgs) => TensorInfo[];
    tf.unregisterKernel('Slice', 'wasm');
    tf.unregisterKernel('SplitV', 'wasm');
    tf.registerKernel({ kernelName: 'Slice', backendName: 'wasm', kernelFunc: ((args: KernelArgs) => (heapCopyable(args.inputs.x) ? heapSliceKernel(args) : origSlice(args))) as never });
    tf.registerKernel({ kernelName: 'SplitV', backendName: 'wasm', kernelFunc: ((args: KernelArgs) => (heapCopyable(args.inputs.x) ? heapSplitKernel(args) : origSplit(args))) as never });
    applied.push('Slice:heap-copy', 'SplitV:heap-copy');
  }
  const mm = tf.getKernel('BatchMatMul', 'wasm');
  const tr = tf.getKernel('Transpose', 'wasm');
  if (mm && tr) {
    const orig = mm.kernelFunc as unknown as KernelFn;
    const transpose = tr.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => pretransposedMatMul(args, orig, transpose)) as never,
    });
    applied.push('BatchMatMul:pretranspose', 'BatchMatMul:batched-as-2d');
  }
  return applied;
}

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

function pretransposedMatMul(args: KernelArgs, orig: KernelFn, transpose: KernelFn): TensorInfo {
  const { inputs, backend, attrs } = args;
  if (!attrs.transposeA && !attrs.transposeB) return loopedMatMul(args, orig);
  const temps: TensorInfo[] = [];
  const flip = (x: TensorInfo, flag: unknown): TensorInfo => {
    if (!flag) return x;
    const t = transpose({ inputs: { x }, backend, attrs: { perm: swapLast(x.shape.length) } });
    temps.push(t);
    return t;
  };
  const a = flip(inputs.a, attrs.transposeA);
  const b = flip(inputs.b, attrs.transposeB);
  const out = loopedMatMul({ inputs: { ...inputs, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }, orig);
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);

/** Untransposed a [..., M, K] @ b [..., K, N] with equal batch dims > 1: one 2-D call per entry. */
function loopedMatMul(args: KernelArgs, orig: KernelFn): TensorInfo {
  const { inputs, backend } = args;
  const { a, b } = inputs;
  const batchShape = a.shape.slice(0, -2);
  const batch = size(batchShape);
  if (batch <= 1 || a.dtype !== 'float32' || batchShape.join(',') !== b.shape.slice(0, -2).join(',')) return orig(args);
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  // Tiny entries (one decoding query) cost more in per-call overhead than the slow loop.
  if (M * K * N < 8192) return orig(args);
  const out = backend.makeOutput([...batchShape, M, N], 'float32');
  const off = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  for (let i = 0; i < batch; i++) {
    // Fresh scratch tensors each time: the wasm kernel caches the packed right operand by tensor id,
    // so refilling one scratch tensor would reuse the first entry's weights.
    const ta = backend.makeOutput([M, K], 'float32');
    const tb = backend.makeOutput([K, N], 'float32');
    // Re-read the heap view after allocations: growing the wasm memory replaces it.
    let heap = backend.wasm.HEAPF32;
    heap.copyWithin(off(ta), off(a) + i * M * K, off(a) + (i + 1) * M * K);
    heap.copyWithin(off(tb), off(b) + i * K * N, off(b) + (i + 1) * K * N);
    const r = orig({ inputs: { a: ta, b: tb }, backend, attrs: { transposeA: false, transposeB: false } });
    heap = backend.wasm.HEAPF32;
    heap.copyWithin(off(out) + i * M * N, off(r), off(r) + M * N);
    backend.disposeData(r.dataId);
    backend.disposeData(ta.dataId);
    backend.disposeData(tb.dataId);
  }
  return out;
}

const heapCopyable = (x: TensorInfo) => x.dtype === 'float32' || x.dtype === 'int32';

/** Copies x[begin : begin + size] into a new tensor, one copyWithin per contiguous run. */
function heapSlice(backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const rank = x.shape.length;
  const strides = x.shape.map((_, a) => x.shape.slice(a + 1).reduce((p, q) => p * q, 1));
  // Axes after k are taken whole, so each index over axes 0..k-1 gives one contiguous run.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const run = size[k] * strides[k];
  const heap = backend.wasm.HEAPF32; // after makeOutput: growing the memory replaces the view
  const src0 = backend.dataIdMap.get(x.dataId).memoryOffset / 4 + begin[k] * strides[k];
  let dst = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  const idx = new Array<number>(k).fill(0);
  for (let n = total / run; n > 0; n--) {
    let src = src0;
    for (let a = 0; a < k; a++) src += (begin[a] + idx[a]) * strides[a];
    heap.copyWithin(dst, src, src + run);
    dst += run;
    for (let a = k - 1; a >= 0; a--) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function heapSliceKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
  return heapSlice(args.backend, x, begin, size);
}

function heapSplitKernel(args: KernelArgs): TensorInfo[] {
  const { x } = args.inputs;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs.numOrSizeSplits as number[] | number, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const part = heapSlice(args.backend, x, [...begin], size);
    begin[axis] += s;
    return part;
  });
}

/** A new tensor over the same buffer (the buffer is freed when its last tensor is). */
function sharedIdentity(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const ids = backend.readSync(segmentIds.dataId);
  const xs = backend.readSync(x.dataId);
  const k = ids.length;
  const inner = k === 0 ? 0 : xs.length / k;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const o = backend.typedArrayFromHeap(out);
  o.fill(0);
  for (let i = 0; i < k; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}
