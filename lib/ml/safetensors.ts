// The safetensors format, read and written here (small enough to own; readable by other tools):
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// padded with spaces to 8 bytes, then the raw little-endian tensor bytes.
// Exports: encodeSafetensors, decodeSafetensors, tensorsToEntries, TensorEntry.
import type * as tf from '@tensorflow/tfjs';

export interface TensorEntry {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function encodeSafetensors(tensors: Map<string, TensorEntry>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape ${t.shape} holds ${n} values, data has ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const t of tensors.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Parses and checks bounds; throws on any inconsistency (a truncated or altered file). */
export function decodeSafetensors(buf: Buffer): { tensors: Map<string, TensorEntry>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`safetensors: ${buf.length} bytes is too short`);
  const len = Number(buf.readBigUInt64LE(0));
  if (len > MAX_HEADER || 8 + len > buf.length) throw new Error(`safetensors: header length ${len} exceeds the file (${buf.length} bytes)`);
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + len;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = raw as Record<string, string>; continue; }
    const h = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (h.dtype !== 'F32' && h.dtype !== 'I32') throw new Error(`safetensors: tensor ${name} has unsupported dtype ${h.dtype}`);
    const [b, e] = h.data_offsets;
    const n = h.shape.reduce((a, x) => a * x, 1);
    if (!(b >= 0 && e >= b && dataStart + e <= buf.length && e - b === n * 4)) {
      throw new Error(`safetensors: tensor ${name} offsets [${b}, ${e}] do not fit shape ${h.shape} in ${buf.length} bytes`);
    }
    // Copy so the typed array is aligned and independent of the file buffer.
    const bytes = new Uint8Array(buf.subarray(dataStart + b, dataStart + e));
    const data = h.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
    tensors.set(name, { dtype: h.dtype, shape: h.shape, data });
  }
  return { tensors, metadata };
}

/** Reads tensors' values (dataSync) into entries, in the map's order. */
export function tensorsToEntries(tensors: Map<string, tf.Tensor>): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [name, t] of tensors) {
    if (t.dtype === 'int32') out.set(name, { dtype: 'I32', shape: t.shape, data: t.dataSync() as Int32Array });
    else if (t.dtype === 'float32') out.set(name, { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array });
    else throw new Error(`tensor ${name}: dtype ${t.dtype} not supported in safetensors here`);
  }
  return out;
}

/** Narrows to float32 entries (weights and optimizer moments). */
export function floatEntries(tensors: Map<string, TensorEntry>): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, t] of tensors) {
    if (t.dtype !== 'F32') throw new Error(`tensor ${n} is ${t.dtype}, expected F32`);
    out.set(n, { shape: t.shape, data: t.data as Float32Array });
  }
  return out;
}
