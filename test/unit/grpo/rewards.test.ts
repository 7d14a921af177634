// Rewards and answer parsing: the strings the model writes, judged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REWARD_VERSIONS, accuracyReward, formatReward, normalizeAnswer, parseAnswer, resolveRewards, scoreCompletion,
} from '../../../lib/ml/rewards';
import { ClgrpoError, ErrorType } from '../../../lib/errors';

const LABELS = ['amusement', 'awe', 'contentment', 'excitement', 'anger', 'disgust', 'fear', 'sadness'];

test('format is 1 only for exactly <think>…</think><answer>…</answer>', () => {
  const f = (completion: string) => formatReward({ completion, label: 'awe' });
  assert.equal(f('<think>bright, round</think><answer>awe</answer>'), 1);
  assert.equal(f('<think></think><answer>fear</answer>\n'), 1); // trailing newline tolerated
  assert.equal(f('<think>x</think> <answer>fear</answer>'), 1);
  assert.equal(f('so <think>x</think><answer>fear</answer>'), 0); // text outside
  assert.equal(f('<think>x</think><answer>fear</answer> done'), 0);
  assert.equal(f('<answer>fear</answer>'), 0); // no think
  assert.equal(f('<think>x</think><answer></answer>'), 0); // empty answer
  assert.equal(f('<think>x</think><answer>a</answer><answer>b</answer>'), 0);
  assert.equal(f('<think>x<think>y</think><answer>a</answer>'), 0); // nested tag
  assert.equal(f('<think>x</think><answer>fear'), 0); // unclosed
  assert.equal(f('fear'), 0);
});

test('accuracy compares the normalized answer with the label', () => {
  const a = (completion: string, label = 'awe') => accuracyReward({ completion, label });
  assert.equal(a('<think>x</think><answer>awe</answer>'), 1);
  assert.equal(a('<think>x</think><answer> The Awe. </answer>'), 1);
  assert.equal(a('<answer>AWE</answer> trailing'), 1); // accuracy does not judge format
  assert.equal(a('<think>x</think><answer>fear</answer>'), 0);
  assert.equal(a('awe'), 0); // GRPO rewards only tagged answers
  assert.equal(a('<think>awe</think>'), 0);
  assert.equal(a('<answer>fear</answer><answer>awe</answer>'), 1); // the last answer counts
  assert.equal(normalizeAnswer('  "Sad  ness"! '), 'sad ness');
});

test('parseAnswer maps to a known label or null; plain labels only when allowed', () => {
  assert.equal(parseAnswer('<think>x</think><answer>Fear</answer>', LABELS), 'fear');
  assert.equal(parseAnswer('<think>x</think><answer>joy</answer>', LABELS), null);
  assert.equal(parseAnswer(' sadness\n', LABELS), 'sadness');
  assert.equal(parseAnswer('sadness', LABELS, false), null);
  assert.equal(parseAnswer('<think>sadness', LABELS), null);
  assert.equal(parseAnswer('', LABELS), null);
});

test('registry resolves names and weights, rejects unknown names with the list', () => {
  const rs = resolveRewards(['format', { name: 'accuracy', weight: 2 }]);
  assert.deepEqual(rs.map((r) => [r.name, r.weight]), [['format', 1], ['accuracy', 2]]);
  const s = scoreCompletion(rs, { completion: '<think>x</think><answer>awe</answer>', label: 'awe' });
  assert.deepEqual(s, { total: 3, parts: { format: 1, accuracy: 1 } });
  assert.throws(() => resolveRewards(['format', 'acuracy', '__proto__']), (e: unknown) =>
    e instanceof ClgrpoError && e.type === ErrorType.Config && /acuracy/.test(e.message)
    && /__proto__/.test(e.message) && /known: format, accuracy/.test(e.message));
  assert.throws(() => resolveRewards([]), /empty/);
  assert.deepEqual(REWARD_VERSIONS, { format: '1', accuracy: '1' });
});
