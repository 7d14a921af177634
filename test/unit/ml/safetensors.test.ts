import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from '../../../lib/ml/safetensors';

test('safetensors round-trips F32 and I32 tensors and metadata, header aligned to 8 bytes', () => {
  const tensors = new Map<string, TensorEntry>([
    ['a.w', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2.5, 3e-8, Infinity, -0, 6]) }],
    ['b', { dtype: 'I32', shape: [3], data: Int32Array.from([7, -8, 2 ** 31 - 1]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([42]) }],
  ]);
  const buf = encodeSafetensors(tensors, { format: 'test' });
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0);
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
  assert.deepEqual(header['a.w'], { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header.__metadata__, { format: 'test' });
  const back = decodeSafetensors(buf);
  assert.deepEqual(back.metadata, { format: 'test' });
  for (const [n, t] of tensors) {
    const b = back.tensors.get(n)!;
    assert.equal(b.dtype, t.dtype);
    assert.deepEqual(b.shape, t.shape);
    assert.deepEqual([...b.data], [...t.data]);
  }
  assert.ok(Object.is(back.tensors.get('a.w')!.data[4], -0));
});

test('a truncated or inconsistent file is rejected', () => {
  const buf = encodeSafetensors(new Map([['x', { dtype: 'F32' as const, shape: [4], data: new Float32Array(4) }]]));
  assert.throws(() => decodeSafetensors(buf.subarray(0, buf.length - 1)), /offsets/);
  assert.throws(() => decodeSafetensors(buf.subarray(0, 4)), /too short/);
  const big = Buffer.from(buf);
  big.writeBigUInt64LE(BigInt(1e12), 0);
  assert.throws(() => decodeSafetensors(big), /header length/);
  assert.throws(() => encodeSafetensors(new Map([['x', { dtype: 'F32' as const, shape: [3], data: new Float32Array(4) }]])), /holds 3/);
});
