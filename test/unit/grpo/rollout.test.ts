// The rollout on a real tiny model: the sampler's log-probs ("old") equal what the trainer's
// teacher-forced forward computes for the same tokens, so the first update is exactly on-policy
// (ratio 1, nothing clipped, KL 0 against an identical reference). This catches any off-by-one
// between sampling positions and completion logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../lib/ml/backend';
import { writeSyntheticDataset } from '../../../lib/ml/data/build-synthetic';
import { openDataset } from '../../../lib/ml/data/dataset';
import { completionLogits, imagesFor, referenceLogprobs, sampleRollout } from '../../../lib/ml/grpo/rollout';
import { grpoGradients } from '../../../lib/ml/grpo/update';
import { VlmModel, modelConfig } from '../../../lib/ml/model';
import { TASK_PROMPT, encodePrompt, tokenizerCorpus } from '../../../lib/ml/prompt';
import { resolveRewards } from '../../../lib/ml/rewards';
import { Tokenizer } from '../../../lib/ml/tokenizer';
import { rngFor } from '../../../lib/rng';

test('first update on a fresh rollout is on-policy: ratio 1, no clipping, KL 0; rows are grouped by prompt', async () => {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clgrpo-rollout-'));
  writeSyntheticDataset(dir, { seed: 6, train: 8, val: 2, test: 2 });
  const ds = openDataset(dir);
  const tok = Tokenizer.train(tokenizerCorpus(ds.samples('train'), ds.meta.labels), 280);
  const cfg = modelConfig('tiny', tok.vocabSize, ds.meta.imageSize);
  const policy = VlmModel.create(cfg, rngFor(6, 'init'));
  const reference = VlmModel.create(cfg, rngFor(6, 'init'));
  const prompt = encodePrompt(tok, TASK_PROMPT);
  const r = sampleRollout(policy, ds, tok, prompt, [3, 5], resolveRewards(['format', 'accuracy']),
    { groupSize: 3, temperature: 1, topP: 0.9, maxNewTokens: 6 }, rngFor(6, 'sample'));
  assert.deepEqual(r.rowIndices, [3, 3, 3, 5, 5, 5]);
  assert.equal(r.texts.length, 6);
  assert.deepEqual(Object.keys(r.parts), ['format', 'accuracy']);
  assert.ok(r.completions.lengths.every((n) => n >= 1 && n <= 6));
  const N = 6;
  const W = r.completions.width;
  const t = {
    tokens: tf.tensor2d(r.completions.tokens, [N, W], 'int32'), oldLogp: tf.tensor2d(r.completions.oldLogp, [N, W]),
    refLogp: referenceLogprobs(reference, ds, prompt, r, 4), advantages: tf.tensor1d([1, -0.5, -0.5, 0.3, 0.3, -0.6]),
    mask: tf.tensor2d(r.completions.mask, [N, W]),
  };
  const diff = tf.max(tf.abs(tf.mul(tf.sub(t.refLogp, t.oldLogp), t.mask))).dataSync()[0];
  assert.ok(diff < 1e-4, `sampler and teacher-forced log-probs differ by ${diff}`);
  const logitsFor = (s: number, c: number) => completionLogits(policy, imagesFor(ds, 'train', r.rowIndices.slice(s, s + c)), prompt, t.tokens.slice(s, c));
  const g = grpoGradients(t, policy.trainableVariables(), logitsFor, { clipLow: 0.2, clipHigh: 0.1, beta: 0.04, temperature: 1, microBatch: 3 });
  assert.ok(Math.abs(g.meanRatio - 1) < 1e-4, `ratio ${g.meanRatio}`);
  assert.equal(g.clipLowFrac, 0);
  assert.equal(g.clipHighFrac, 0);
  assert.ok(Math.abs(g.kl) < 1e-6, `kl ${g.kl}`);
  assert.equal(Object.keys(g.grads).length, policy.trainableVariables().length);
  tf.dispose([...Object.values(g.grads), ...Object.values(t)]);
  policy.dispose();
  reference.dispose();
});
