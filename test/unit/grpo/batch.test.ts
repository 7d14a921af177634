// Prompt cursor and padding of a rollout batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completionTokensForText, padCompletions, promptIndices, rows } from '../../../lib/ml/grpo/batch';

test('the prompt cursor is a seeded permutation per pass, a pure function of (seed, step)', () => {
  const n = 10;
  const firstPass = [0, 1, 2, 3, 4].flatMap((s) => promptIndices(7, s, 2, n));
  assert.deepEqual([...firstPass].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(firstPass, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(promptIndices(7, 3, 2, n), firstPass.slice(6, 8)); // resume at step 3: same prompts
  assert.notDeepEqual(promptIndices(8, 0, 5, n), promptIndices(7, 0, 5, n));
  // a step straddling two passes: cursor 9 (pass 0) then 10 (pass 1)
  const straddle = promptIndices(7, 3, 3, n);
  assert.equal(straddle[0], firstPass[9]);
  assert.equal(straddle.length, 3);
});

test('padCompletions cuts after the first EOS, pads, and masks exactly the real tokens', () => {
  const EOS = 0;
  const p = padCompletions([
    { tokens: [5, 6, 0, 0], logprobs: [-1, -2, -0.5, -9] },
    { tokens: [7], logprobs: [-3] },
    { tokens: [8, 9, 10], logprobs: [-1, -1, -1] }, // truncated: no EOS
  ], EOS);
  assert.equal(p.width, 3);
  assert.deepEqual(p.lengths, [3, 1, 3]);
  assert.deepEqual([...p.tokens], [5, 6, 0, 7, 0, 0, 8, 9, 10]);
  assert.deepEqual([...p.mask], [1, 1, 1, 1, 0, 0, 1, 1, 1]);
  assert.deepEqual([...p.oldLogp], [-1, -2, -0.5, -3, 0, 0, -1, -1, -1]);
  assert.deepEqual([...rows(p.mask, p.width, 1, 2)], [1, 0, 0, 1, 1, 1]);
  assert.deepEqual(completionTokensForText([5, 6, 0, 0], EOS), [5, 6]);
  assert.throws(() => padCompletions([{ tokens: [1, 2], logprobs: [-1] }], EOS), /2 tokens but 1 log-probs/);
});
