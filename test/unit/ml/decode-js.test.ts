// The plain-JS decode step (lib/ml/decode-js.ts) against the TF.js model, on both of its kernels
// (WebAssembly SIMD, the default here, and scalar JS, the fallback): after the TF prefill, several JS
// steps give the logits the full forward computes at those positions (≤ 1e-5 abs, tiny and small,
// batch > 1, two prompt lengths); generate's greedy output with the JS step equals the TF decode
// step's, recomputation's and the other kernel's on prompts of mixed lengths (log-probs within 1e-5:
// the kernels round differently); runs are bit-identical;
// a new SIMD state ends the previous one; released weights refuse use and their successor on the
// recycled memory decodes the same; the default picks JS up to the measured crossovers.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { decodeStepJs, defaultJsKernel, prepareDecodeJs, releaseDecodeJs, startDecodeJs, type JsKernel } from '../../../lib/ml/decode-js';
import { VlmModel, modelConfig, type ModelSize } from '../../../lib/ml/model';
import { defaultDecode, generate } from '../../../lib/ml/sampling';
import { rngFor } from '../../../lib/rng';

before(async () => { await initBackend(); });

function images(seed: number, n: number): tf.Tensor4D {
  const rng = rngFor(seed, 'img');
  return tf.tensor4d(Int32Array.from({ length: n * 32 * 32 * 3 }, () => rng.int(256)), [n, 32, 32, 3], 'int32');
}

/** Random weights, matrices scaled up so logits spread over several units (a harder rounding test). */
function randomModel(size: ModelSize, seed: number, scale: number): VlmModel {
  const m = VlmModel.create(modelConfig(size, 300), rngFor(seed, 'decode-js', size));
  for (const v of m.trainableVariables()) if (v.shape.length === 2) v.assign(tf.mul(v, scale));
  return m;
}

test('the SIMD kernel is the default where WebAssembly SIMD validates (Node 20)', () => {
  assert.equal(defaultJsKernel, 'simd');
});

for (const [size, kernel] of [['tiny', 'simd'], ['small', 'simd'], ['tiny', 'scalar'], ['small', 'scalar']] as Array<[ModelSize, JsKernel]>) {
  test(`${size}, ${kernel}: JS decode steps give the full forward's logits (≤ 1e-5), batch 3, prompts of 4 and 7 tokens`, () => {
    const m = randomModel(size, 3, 4);
    const V = m.config.vocabSize;
    const w = prepareDecodeJs(m.config, (n) => m.p(n), kernel);
    assert.equal(w.kernel, kernel);
    const imgs = images(4, 3);
    let worst = 0;
    let spread = 0;
    for (const T of [4, 7]) {
      const prompts = [0, 1, 2].map((b) => Array.from({ length: T }, (_, t) => (b * 37 + t * 11 + 1) % V));
      const fed = [0, 1, 2].map((b) => Array.from({ length: 6 }, (_, k) => (b * 53 + k * 29 + 5) % V));
      const { cache, logits } = m.prefill(imgs, tf.tensor2d(prompts.flat(), [3, T], 'int32'));
      const s = startDecodeJs(w, cache.layers, cache.length, 3, cache.length + fed[0].length);
      const full = m.forward(imgs, tf.tensor2d(prompts.map((p, b) => [...p, ...fed[b]]).flat(), [3, T + fed[0].length], 'int32'));
      const ref = full.dataSync() as Float32Array;
      const L = T + fed[0].length;
      for (let k = 0; k < fed[0].length; k++) {
        const got = decodeStepJs(w, s, fed.map((f) => f[k]));
        for (let b = 0; b < 3; b++) {
          for (let j = 0; j < V; j++) {
            const want = ref[(b * L + T + k) * V + j];
            worst = Math.max(worst, Math.abs(got[b * V + j] - want));
            spread = Math.max(spread, Math.abs(want));
          }
        }
      }
      tf.dispose([logits, full, ...cache.layers.flatMap((e) => [e.k, e.v])]);
      assert.throws(() => decodeStepJs(w, s, [1, 1, 1]), /past the cache/);
    }
    imgs.dispose();
    m.dispose();
    if (process.env.DECODE_JS_PRINT === '1') console.log(`${size} ${kernel}: max |JS − forward| ${worst.toExponential(2)}, max |logit| ${spread.toFixed(2)}`);
    assert.ok(spread > 1, `logits too flat to test rounding (max |logit| ${spread})`);
    assert.ok(worst <= 1e-5, `max |JS − forward| ${worst} over logits up to ${spread}`);
  });
}

test('greedy generation: JS decode (SIMD and scalar) = TF decode = recomputation on prompts of mixed lengths; JS runs are bit-identical', () => {
  const m = randomModel('tiny', 5, 6);
  const imgs = images(6, 4);
  const prompts = [[1, 20, 21, 22], [1, 30, 31], [1, 40, 41, 42], [1, 50, 51, 52, 53, 54]];
  const opts = { maxNewTokens: 14, eos: 0, decode: 'js' as const };
  const js = generate(m, imgs, prompts, opts);
  const scalar = generate(m, imgs, prompts, { ...opts, jsKernel: 'scalar' });
  const viaTf = generate(m, imgs, prompts, { ...opts, decode: 'tf' });
  const recomputed = generate(m, imgs, prompts, { ...opts, useCache: false });
  assert.deepEqual(js.tokens, scalar.tokens);
  assert.deepEqual(js.tokens, viaTf.tokens);
  assert.deepEqual(js.tokens, recomputed.tokens);
  // Not bit for bit: SIMD projections sum float32 products in float32 over blocks of 32 k values
  // (wasm-simd.ts's f32b, twice the rate of exact double sums), the scalar ones in doubles.
  js.logProbs.forEach((row, i) => row.forEach((x, j) => {
    assert.ok(Math.abs(x - scalar.logProbs[i][j]) <= 1e-5, `logProb[${i}][${j}] SIMD ${x} vs scalar ${scalar.logProbs[i][j]}`);
  }));
  assert.ok(new Set(js.tokens[0]).size > 1, `degenerate greedy output ${js.tokens[0]}`);
  js.logProbs.forEach((row, i) => row.forEach((x, j) => {
    assert.ok(Math.abs(x - viaTf.logProbs[i][j]) <= 1e-5, `logProb[${i}][${j}] JS ${x} vs TF ${viaTf.logProbs[i][j]}`);
  }));
  assert.deepEqual(generate(m, imgs, prompts, opts), js);
  const sample = () => generate(m, imgs, prompts, { ...opts, temperature: 1, topP: 0.9, rng: rngFor(9, 'decode-js') });
  assert.deepEqual(sample(), sample());
  imgs.dispose();
  m.dispose();
});

test('small: greedy generation with the JS decode equals the TF decode path', () => {
  const m = randomModel('small', 8, 6);
  const imgs = images(9, 3);
  const prompts = [[1, 20, 21, 22], [1, 30, 31, 32, 33], [1, 40, 41, 42]];
  const opts = { maxNewTokens: 12, eos: 0, decode: 'js' as const };
  const js = generate(m, imgs, prompts, opts);
  const viaTf = generate(m, imgs, prompts, { ...opts, decode: 'tf' });
  assert.deepEqual(js.tokens, viaTf.tokens);
  assert.deepEqual(generate(m, imgs, prompts, { ...opts, jsKernel: 'scalar' }).tokens, js.tokens);
  js.logProbs.forEach((row, i) => row.forEach((x, j) => assert.ok(Math.abs(x - viaTf.logProbs[i][j]) <= 1e-5, `logProb[${i}][${j}] JS ${x} vs TF ${viaTf.logProbs[i][j]}`)));
  imgs.dispose();
  m.dispose();
});

test('SIMD: starting a second state on the same weights ends the first (their buffers share one memory)', () => {
  const m = randomModel('tiny', 3, 1);
  const w = prepareDecodeJs(m.config, (n) => m.p(n), 'simd');
  const imgs = images(4, 2);
  const { cache, logits } = m.prefill(imgs, tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'));
  const first = startDecodeJs(w, cache.layers, cache.length, 2, cache.length + 4);
  decodeStepJs(w, first, [7, 8]);
  const second = startDecodeJs(w, cache.layers, cache.length, 2, cache.length + 4);
  assert.throws(() => decodeStepJs(w, first, [7, 8]), /ended by a later startDecodeJs/);
  decodeStepJs(w, second, [7, 8]);
  tf.dispose([logits, imgs, ...cache.layers.flatMap((e) => [e.k, e.v])]);
  m.dispose();
});

test('releaseDecodeJs: the weights and their states refuse further use; the next prepare (on the recycled memory) decodes the same', () => {
  const m = randomModel('tiny', 3, 4);
  const imgs = images(4, 2);
  const { cache, logits } = m.prefill(imgs, tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'));
  const run = () => {
    const w = prepareDecodeJs(m.config, (n) => m.p(n), 'simd');
    const s = startDecodeJs(w, cache.layers, cache.length, 2, cache.length + 4);
    const out = [[7, 8], [9, 10], [11, 12]].map((t) => Float32Array.from(decodeStepJs(w, s, t)));
    return { w, s, out };
  };
  const first = run();
  releaseDecodeJs(first.w);
  assert.throws(() => decodeStepJs(first.w, first.s, [7, 8]), /released/);
  assert.throws(() => startDecodeJs(first.w, cache.layers, cache.length, 2, cache.length + 4), /released/);
  const second = run();
  assert.equal(second.w.mem!.memory, first.w.mem!.memory);
  assert.deepEqual(second.out, first.out);
  releaseDecodeJs(second.w);
  tf.dispose([logits, imgs, ...cache.layers.flatMap((e) => [e.k, e.v])]);
  m.dispose();
});

test('defaultDecode: JS (SIMD) up to the measured crossovers (GRPO rollouts of 32 included); scalar JS for few rows only', () => {
  const tiny = modelConfig('tiny', 471);
  const small = modelConfig('small', 471);
  const base = modelConfig('base', 471);
  assert.deepEqual([1, 8, 32, 50, 256, 320].map((B) => defaultDecode(tiny, B, 'simd')), ['js', 'js', 'js', 'js', 'js', 'tf']);
  assert.deepEqual([1, 8, 32, 64, 96].map((B) => defaultDecode(small, B, 'simd')), ['js', 'js', 'js', 'js', 'tf']);
  assert.deepEqual([16, 24].map((B) => defaultDecode(base, B, 'simd')), ['js', 'tf']);
  assert.deepEqual([1, 8, 16, 32, 64].map((B) => defaultDecode(tiny, B, 'scalar')), ['js', 'js', 'js', 'tf', 'tf']);
  assert.deepEqual([1, 4, 8, 32].map((B) => defaultDecode(small, B, 'scalar')), ['js', 'js', 'tf', 'tf']);
  assert.equal(defaultDecode(base, 4, 'scalar'), 'tf');
  assert.equal(defaultDecode(tiny, 32), 'js');
});
