import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer, SPECIAL_TOKENS } from '../../../lib/ml/tokenizer';
import { TASK_PROMPT, cotCompletion, labelCompletion, parseCompletion, tokenizerCorpus, encodeCompletion } from '../../../lib/ml/prompt';

const corpus = tokenizerCorpus(
  [
    { caption: 'a bright warm image with sharp red triangles', label: 'excitement', attributes: { warmth: 'warm', brightness: 'bright' } },
    { caption: 'a dark cool image with soft blue circles', label: 'sadness', attributes: { warmth: 'cool', brightness: 'dark' } },
  ],
  ['excitement', 'sadness', 'awe'],
  ['the palette is warm and bright, so the mood is lively'],
);

test('BPE round-trips any text exactly, including unseen words, unicode and special tags', () => {
  const tok = Tokenizer.train(corpus, 400);
  const texts = [
    TASK_PROMPT,
    cotCompletion('the palette is warm and bright', 'excitement'),
    'Ünïcödé ✓ 日本語 — emoji 🎉 and tabs\tand\nnewlines  double  spaces ',
    '<think></think><answer> spaced </answer><|endoftext|>',
    '',
    '   leading and trailing   ',
  ];
  for (const t of texts) assert.equal(tok.decode(tok.encode(t)), t);
  // Specials are single ids.
  const ids = tok.encode('<think>x</think>');
  assert.equal(ids[0], tok.id('<think>'));
  assert.equal(ids[ids.length - 1], tok.id('</think>'));
});

test('learned merges shorten the task text well below one token per byte', () => {
  // A dataset repeats its words; a pair seen once is never merged.
  const tok = Tokenizer.train([...corpus, ...corpus], 400);
  const text = 'a bright warm image with sharp red triangles';
  assert.ok(tok.encode(text).length <= 10, `got ${tok.encode(text).length} tokens`);
  assert.ok(tok.vocabSize <= 400 && tok.vocabSize > 262);
  assert.equal(tok.encode(labelCompletion('excitement')).length, 3);
});

test('training is deterministic and JSON round-trips', () => {
  const a = Tokenizer.train(corpus, 350);
  const b = Tokenizer.train(corpus, 350);
  assert.deepEqual(a.toJSON(), b.toJSON());
  const c = Tokenizer.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  assert.deepEqual(c.encode(TASK_PROMPT), a.encode(TASK_PROMPT));
  assert.deepEqual(a.toJSON().special, [...SPECIAL_TOKENS]);
});

test('completion encoding ends with end of text; parse accepts only the exact format', () => {
  const tok = Tokenizer.train(corpus, 300);
  const ids = encodeCompletion(tok, labelCompletion('awe'));
  assert.equal(ids[ids.length - 1], tok.eos);
  assert.deepEqual(parseCompletion(cotCompletion('warm', 'awe')), { wellFormed: true, think: 'warm', answer: 'awe' });
  assert.deepEqual(parseCompletion(' <think>a</think>\n<answer> awe </answer> '), { wellFormed: true, think: 'a', answer: 'awe' });
  assert.deepEqual(parseCompletion('<answer>awe</answer>'), { wellFormed: false, answer: 'awe' });
  assert.equal(parseCompletion('<think>a<answer>b</answer></think><answer>c</answer>').wellFormed, false);
  assert.equal(parseCompletion('<think>a</think><answer>b</answer> trailing').wellFormed, false);
  assert.deepEqual(parseCompletion('nothing'), { wellFormed: false });
});
