// Parsing, verification, the three selection policies and hint stripping, on fixtures whose
// right answers are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompletion, verdictOf, normalizeReasoning, wordCount } from '../../../lib/teachers/parse';
import { selectChain, stripHint } from '../../../lib/teachers/select';
import type { ReplyRecord } from '../../../lib/teachers/select';

test('parseCompletion accepts the format with surrounding whitespace and normalizes the answer', () => {
  const p = parseCompletion('\n<think> warm  colours,\nbright </think>\n<answer> The Awe. </answer>\n');
  assert.deepEqual(p, { ok: true, think: 'warm colours, bright', answer: 'The Awe.', normalized: 'awe' });
  assert.equal(verdictOf(p, 'awe'), 'verified');
  assert.equal(verdictOf(p, 'fear'), 'wrong');
});

test('parseCompletion names why a reply is malformed', () => {
  const cases: Array<[string, RegExp]> = [
    ['it is awe', /no <think>/],
    ['<answer>awe</answer><think>x</think>', /out of order/],
    ['<think>a</think><answer>awe</answer><answer>fear</answer>', /repeated/],
    ['Sure! <think>a</think><answer>awe</answer>', /outside/],
    ['<think> </think><answer>awe</answer>', /empty <think>/],
    ['<think>a</think><answer> . </answer>', /empty <answer>/],
  ];
  for (const [text, reason] of cases) {
    const p = parseCompletion(text);
    assert.equal(p.ok, false, text);
    if (!p.ok) assert.match(p.reason, reason, text);
    assert.equal(verdictOf(p, 'awe'), 'malformed');
  }
});

test('normalizeReasoning ignores case, punctuation and spacing; wordCount counts words', () => {
  assert.equal(normalizeReasoning('Warm colours,  BRIGHT light.'), normalizeReasoning('warm colours bright light'));
  assert.equal(wordCount(' a b  c '), 3);
});

function reply(teacher: string, think: string, answer: string, label: string, tryIndex = 0): ReplyRecord {
  const p = parseCompletion(`<think>${think}</think><answer>${answer}</answer>`);
  if (!p.ok) throw new Error('fixture must parse');
  return { index: 0, teacher, tryIndex, pass: 'ask', verdict: verdictOf(p, label), think: p.think, answer: p.answer, normalized: p.normalized, text: '', fromMemo: false };
}

// Label is sadness. t1 is wrong; t2, t3 and t4 are right, t3 and t4 with the same reasoning.
const label = 'sadness';
const fixture = [
  reply('t1', 'dark and busy, so fear', 'fear', label),
  reply('t2', 'dark light, sinking forms, few muted small shapes', 'sadness', label),
  reply('t3', 'Dark light; sinking, small forms.', 'sadness', label),
  reply('t4', 'dark light sinking small forms', 'Sadness', label),
  { index: 0, teacher: 't5', tryIndex: 0, pass: 'ask', verdict: 'malformed', reason: 'no tags', text: 'sad', fromMemo: false } as ReplyRecord,
];

test('first keeps the first verified chain in teacher order', () => {
  assert.equal(selectChain(fixture, 'first', 'verified')?.teacher, 't2');
});

test('shortest keeps the verified chain with the least reasoning', () => {
  assert.equal(selectChain(fixture, 'shortest', 'verified')?.teacher, 't4');
});

test('majority keeps the most common normalized reasoning among verified chains, shortest of that group', () => {
  const chosen = selectChain(fixture, 'majority', 'verified');
  assert.equal(chosen?.teacher, 't4');
  // A tie between groups of one goes to the group with the shorter chain.
  assert.equal(selectChain(fixture.slice(0, 3), 'majority', 'verified')?.teacher, 't3');
});

test('keep: verified drops samples no teacher got right; keep: all keeps the majority wrong answer', () => {
  const wrongOnly = [reply('a', 'busy dark', 'fear', label), reply('b', 'busy dark large', 'anger', label), reply('c', 'busy', 'fear', label)];
  assert.equal(selectChain(wrongOnly, 'first', 'verified'), null);
  const all = selectChain(wrongOnly, 'majority', 'all');
  assert.equal(all?.answer, 'fear');
  assert.equal(all?.teacher, 'c');
  assert.equal(selectChain([], 'first', 'all'), null);
});

test('stripHint removes sentences stating the given label and keeps the reasoning', () => {
  assert.equal(stripHint('dark light, small forms: sadness. The given label is sadness.', 'sadness'), 'dark light, small forms: sadness.');
  assert.equal(stripHint('We are told the hint is fear. Dark and busy.', 'fear'), 'Dark and busy.');
  assert.equal(stripHint('The given label is awe.', 'awe'), '');
  assert.equal(stripHint('Bright, open, large forms: awe.', 'awe'), 'Bright, open, large forms: awe.');
});
