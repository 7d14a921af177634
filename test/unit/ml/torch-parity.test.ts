// Parity of the PyTorch yardstick (bench/reference/vlm.py) with the TF.js model on identical weights:
// a tiny model with a fixed seed is written as a model artifact (model.safetensors + config.json, the
// files lib/ml/model-io.ts writes), with a batch of random images, prompts of different lengths and
// completions; the reference loads them and must give the same masked NLL (≤ 1e-5), the same
// per-token completion log-probs (≤ 1e-5), the same gradient norm (relative ≤ 1e-4), the same greedy
// KV-cache tokens, and the same per-token generation log-probs (≤ 1e-5; scored on the TF.js tokens,
// teacher-forced through the reference's cache, so a near-tie cannot derail the comparison).
// Without the Python env the parity test is skipped with "no torch": that is the one skip this
// project allows (the env is a ~6 GB opt-in install, `npm run setup:python`).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { VlmModel, modelConfig } from '../../../lib/ml/model';
import { writeModelFiles } from '../../../lib/ml/model-io';
import { globalNorm } from '../../../lib/ml/optimizer';
import { generate } from '../../../lib/ml/sampling';
import { Tokenizer } from '../../../lib/ml/tokenizer';
import { maskedNll } from '../../../lib/ml/train-loop';
import { pythonEnv, pythonEnvDir } from '../../../lib/python-env';
import { rngFor } from '../../../lib/rng';

const installer = require('../../../scripts/python-env.js') as { envDir: () => string };

const ROOT = path.resolve(__dirname, '../../..');
const TOL = 1e-5;

before(async () => { await initBackend(); });

test('scripts/python-env.js and lib/python-env.ts name the same env dir', () => {
  assert.equal(installer.envDir(), pythonEnvDir());
  assert.match(path.basename(pythonEnvDir()), /^py-[0-9a-f]{12}$/);
});

interface RefResult {
  torch: string;
  loss: number;
  gradNorm: number;
  logProbs: number[][];
  mask: number[][];
  generation: { tokens: number[][]; logProbs: number[][]; forcedLogProbs: number[][] };
  error?: string;
}

function maxAbsDiff(a: number[][], b: number[][], what: string): number {
  assert.equal(a.length, b.length, `${what}: ${a.length} rows vs ${b.length}`);
  let m = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length, `${what}[${i}]: ${row.length} columns vs ${b[i].length}`);
    row.forEach((x, j) => { m = Math.max(m, Math.abs(x - b[i][j])); });
  });
  return m;
}

test('the PyTorch reference computes what the TF.js model computes (loss, log-probs, generation)', (t) => {
  const env = pythonEnv();
  if ('missing' in env) {
    t.skip('no torch: run npm run setup:python');
    return;
  }
  const rng = rngFor(7, 'torch-parity');
  const tok = Tokenizer.train(['<image>What emotion does this image evoke?', '<think>bright warm colors</think><answer>joy</answer>'], 300);
  const V = tok.vocabSize;
  const model = VlmModel.create(modelConfig('tiny', V), rngFor(7, 'torch-parity', 'init'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-parity-'));
  try {
    writeModelFiles(dir, model, tok);
    const ids = (n: number) => Array.from({ length: n }, () => rng.int(V));
    const prompts = [ids(3), ids(6), ids(4)];
    const completions = [ids(7), ids(2), ids(5)];
    const B = prompts.length;
    const pixels = Float32Array.from({ length: B * 32 * 32 * 3 }, () => rng.next());
    fs.writeFileSync(path.join(dir, 'images.f32'), Buffer.from(pixels.buffer));
    const images = tf.tensor4d(pixels, [B, 32, 32, 3]);

    // The project's numbers.
    const batch = prompts.map((p, i) => ({ image: i, prompt: p, completion: completions[i] }));
    const { value, grads } = tf.variableGrads(() => maskedNll(model, images, batch), model.trainableVariables());
    const loss = value.dataSync()[0];
    const normT = globalNorm(Object.values(grads));
    const gradNorm = normT.dataSync()[0];
    const lp = tf.tidy(() => {
      const r = model.completionLogProbs(images, prompts, completions);
      return tf.mul(r.logProbs, r.mask);
    });
    const logProbs = lp.arraySync() as number[][];
    const genPrompts = [ids(5), ids(5)];
    const genImages = tf.slice(images, [0, 0, 0, 0], [2, 32, 32, 3]) as tf.Tensor4D;
    const gen = generate(model, genImages, genPrompts, { maxNewTokens: 12, eos: tok.eos });
    tf.dispose([value, normT, lp, genImages, images, ...Object.values(grads)]);

    // The reference's numbers on the same files.
    fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({
      prompts, completions, generate: { prompts: genPrompts, maxNewTokens: 12, eos: tok.eos, forced: gen.tokens },
    }));
    const r = spawnSync(env.python, [path.join(ROOT, 'bench', 'reference', 'run.py'), 'parity', dir],
      { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    assert.equal(r.status, 0, `run.py parity failed (exit ${r.status}): ${line}\n${r.stderr}`);
    const ref = JSON.parse(line) as RefResult;

    const refMasked = ref.logProbs.map((row, i) => row.map((x, j) => x * ref.mask[i][j]));
    const d = {
      loss: Math.abs(loss - ref.loss),
      completionLogProbs: maxAbsDiff(logProbs, refMasked, 'completion log-probs'),
      gradNormRel: Math.abs(gradNorm - ref.gradNorm) / gradNorm,
      generationLogProbs: maxAbsDiff(gen.logProbs, ref.generation.forcedLogProbs, 'generation log-probs'),
    };
    t.diagnostic(`torch ${ref.torch}: loss ${loss} vs ${ref.loss}; max |Δ| loss ${d.loss.toExponential(2)}, completion log-probs ${d.completionLogProbs.toExponential(2)}, generation log-probs ${d.generationLogProbs.toExponential(2)}; grad norm rel ${d.gradNormRel.toExponential(2)}`);
    assert.ok(d.loss <= TOL, `loss differs by ${d.loss}`);
    assert.ok(d.completionLogProbs <= TOL, `completion log-probs differ by up to ${d.completionLogProbs}`);
    assert.ok(d.gradNormRel <= 1e-4, `gradient norm differs by ${d.gradNormRel} (relative)`);
    assert.ok(d.generationLogProbs <= TOL, `generation log-probs differ by up to ${d.generationLogProbs}`);
    assert.deepEqual(ref.generation.tokens, gen.tokens, 'greedy KV-cache tokens differ');
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
