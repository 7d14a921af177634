// Attention of the JS decode step (lib/ml/decode-attention.ts): `attendSimd` (wasm-simd.ts's f64w32
// kernel over a float32 cache, keys transposed) gives the same bits as the scalar `attend` for the
// same q, k, v, on every layer and over several new positions (the cache then holds both the prefill's
// keys/values and the ones the step wrote), batch 3 with prefill lengths that miss the 8-column blocks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { attend, attendSimd } from '../../../lib/ml/decode-attention';
import { prepareDecodeJs, startDecodeJs } from '../../../lib/ml/decode-js';
import { VlmModel, modelConfig } from '../../../lib/ml/model';
import { rngFor } from '../../../lib/rng';

before(async () => { await initBackend(); });

test('attendSimd = attend bit for bit (same q, k, v), every layer, several positions, batch 3', () => {
  const m = VlmModel.create(modelConfig('tiny', 300), rngFor(11, 'decode-attention'));
  const simd = prepareDecodeJs(m.config, (n) => m.p(n), 'simd');
  const scalar = prepareDecodeJs(m.config, (n) => m.p(n), 'scalar');
  const rng = rngFor(12, 'decode-attention');
  const imgs = tf.tensor4d(Int32Array.from({ length: 3 * 32 * 32 * 3 }, () => rng.int(256)), [3, 32, 32, 3], 'int32');
  for (const T of [3, 6]) {
    const { cache, logits } = m.prefill(imgs, tf.tensor2d(Array.from({ length: 3 * T }, (_, i) => (i * 13 + 1) % 300), [3, T], 'int32'));
    const a = startDecodeJs(simd, cache.layers, cache.length, 3, cache.length + 4);
    const b = startDecodeJs(scalar, cache.layers, cache.length, 3, cache.length + 4);
    for (let pos = cache.length; pos < cache.length + 4; pos++) {
      for (const s of [a, b]) for (let i = 0; i < s.cos.length; i++) { s.cos[i] = Math.cos(pos * (i + 1) * 0.1); s.sin[i] = Math.sin(pos * (i + 1) * 0.1); }
      for (let l = 0; l < m.config.text.layers; l++) {
        const qkv = Float32Array.from({ length: a.qkv.length }, () => rng.next() * 4 - 2);
        a.qkv.set(qkv);
        b.qkv.set(qkv);
        attendSimd(simd, a, l, pos);
        attend(scalar, b, l, pos);
        assert.deepEqual(a.ctx, b.ctx, `T ${T}, position ${pos}, layer ${l}`);
      }
    }
    tf.dispose([logits, ...cache.layers.flatMap((e) => [e.k, e.v])]);
  }
  imgs.dispose();
  m.dispose();
});
