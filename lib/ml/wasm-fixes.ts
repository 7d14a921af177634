// Kernel fixes for TF.js 4.22's wasm backend, registered once by backend.ts after wasm is ready.
//  - UnsortedSegmentSum is missing on wasm, and tf.gather's gradient needs it: a plain JS kernel.
//  - BatchMatMul with a transpose flag (every matmul gradient) leaves XNNPACK for a slow loop:
//    the wrapper transposes the flagged operand first (a cheap wasm Transpose) and then calls the
//    original kernel with both flags off, which stays on the fast path.
//  - Batched (3-D/4-D) BatchMatMul — attention — runs a slow loop (~0.4 GFLOP/s here) while 2-D
//    matmuls use XNNPACK: the wrapper runs a batched product as one 2-D product per batch entry,
//    copying each slice into a reused scratch tensor in the wasm heap (~3× faster for attention).
// Exports: applyWasmFixes(): string[] (names of the fixes applied).
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };
interface WasmBackendLike {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
  disposeData(dataId: object): boolean;
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
