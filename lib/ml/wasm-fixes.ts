// Kernel fixes for TF.js 4.22's wasm backend, registered once by backend.ts after wasm is ready.
//  - UnsortedSegmentSum is missing on wasm, and tf.gather's gradient needs it: a plain JS kernel.
//  - BatchMatMul with a transpose flag (every matmul gradient) leaves XNNPACK for a slow loop:
//    the wrapper transposes the flagged operand first (a cheap wasm Transpose) and then calls the
//    original kernel with both flags off, which stays on the fast path.
// Exports: applyWasmFixes(): string[] (names of the fixes applied).
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };
interface WasmBackendLike {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
  disposeData(dataId: object): boolean;
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
    applied.push('BatchMatMul:pretranspose');
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
  if (!attrs.transposeA && !attrs.transposeB) return orig(args);
  const temps: TensorInfo[] = [];
  const flip = (x: TensorInfo, flag: unknown): TensorInfo => {
    if (!flag) return x;
    const t = transpose({ inputs: { x }, backend, attrs: { perm: swapLast(x.shape.length) } });
    temps.push(t);
    return t;
  };
  const a = flip(inputs.a, attrs.transposeA);
  const b = flip(inputs.b, attrs.transposeB);
  const out = orig({ inputs: { ...inputs, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  for (const t of temps) backend.disposeData(t.dataId);
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
