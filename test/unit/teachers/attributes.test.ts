// The attributes teacher reasons with the generator's own rules: on every complete attribute set
// it answers the rule's label with a short chain; noise makes it misread attributes, reproducibly;
// EmoSet annotations map onto the rule attributes; rationalization argues for the given label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttributeTeacher } from '../../../lib/teachers/attributes';
import { fromEmoSet, toRuleAttributes } from '../../../lib/teachers/emoset-attributes';
import { parseCompletion, wordCount } from '../../../lib/teachers/parse';
import { stripHint } from '../../../lib/teachers/select';
import { LABELS, allAttributeCombinations, labelFromAttributes } from '../../../lib/ml/data/synthetic-rules';
import type { TeacherSample } from '../../../lib/teachers/types';

function sample(attributes: Record<string, unknown>, i = 0, label = 'awe'): TeacherSample {
  return { index: i, label, labelId: 1, attributes, imageSha256: `img${i}`, png: async () => new Uint8Array() };
}

test('on all 128 attribute sets the answer is the rule label and the chain is at most 40 words', async () => {
  const t = new AttributeTeacher({}, 7);
  let longest = 0;
  for (const [i, attrs] of allAttributeCombinations().entries()) {
    const p = parseCompletion((await t.ask(sample(attrs, i), { tryIndex: 0 })).text);
    assert.ok(p.ok);
    if (!p.ok) continue;
    assert.equal(p.answer, labelFromAttributes(attrs));
    longest = Math.max(longest, wordCount(p.think));
  }
  assert.ok(longest <= 40, `longest chain ${longest} words`);
});

test('noise makes the answer wrong at about its rate, reproducibly per (sample, try)', async () => {
  const t = new AttributeTeacher({ noise: 0.5 }, 7);
  const combos = allAttributeCombinations();
  let wrong = 0;
  for (const [i, attrs] of combos.entries()) {
    const a = (await t.ask(sample(attrs, i), { tryIndex: 0 })).text;
    assert.equal((await t.ask(sample(attrs, i), { tryIndex: 0 })).text, a, 'same sample and try, same reply');
    const p = parseCompletion(a);
    if (p.ok && p.answer !== labelFromAttributes(attrs)) wrong++;
  }
  // A misreading always changes the answer, so noise is the wrong-answer rate (binomial, n = 128).
  assert.ok(wrong > 40 && wrong < 90, `wrong ${wrong}/128`);
  assert.equal(new AttributeTeacher({ noise: 0 }, 7).identity.seed, null, 'seed only matters with noise');
});

test('unclear attributes that leave the rule open give a seeded guess among the labels they allow', async () => {
  const t = new AttributeTeacher({}, 7);
  const attrs = { palette: null, light: 'bright', layout: 'sinking', edges: 'angular', clutter: 'busy', colour: 'vivid', scale: 'large' };
  const p = parseCompletion((await t.ask(sample(attrs), { tryIndex: 0 })).text);
  assert.ok(p.ok);
  if (p.ok) {
    assert.ok(['excitement', 'anger'].includes(p.answer), p.answer);
    assert.match(p.think, /unclear palette/);
  }
});

test('EmoSet annotations map onto the rule attributes, unknown ones stay unclear', () => {
  assert.deepEqual(fromEmoSet({ brightness: 0.8, colorfulness: 0.2, scene: 'mountain_snowy', object: ['person', 'dog', 'tree'], facial_expression: 'happy', human_action: 'jumping' }),
    { light: 'bright', colour: 'muted', palette: 'warm', edges: 'round', layout: 'rising', clutter: 'busy', scale: 'large' });
  assert.deepEqual(fromEmoSet({ brightness: 0.1 }),
    { light: 'dark', colour: null, palette: null, edges: null, layout: null, clutter: null, scale: null });
  assert.equal(toRuleAttributes({ palette: 'warm', light: 'blinding' }).light, null);
});

test('EmoSet-style samples get a well-formed chain', async () => {
  const t = new AttributeTeacher({}, 7);
  const p = parseCompletion((await t.ask(sample({ brightness: 0.2, colorfulness: 0.1, scene: 'bedroom', object: ['bed'], facial_expression: 'sad', human_action: 'crying' }), { tryIndex: 0 })).text);
  assert.ok(p.ok);
  if (p.ok) assert.equal(p.answer, 'sadness');
});

test('rationalization concludes the hint, and stripping leaves a chain that does not state it as given', async () => {
  const t = new AttributeTeacher({}, 7);
  const attrs = allAttributeCombinations()[0];
  const truth = labelFromAttributes(attrs);
  for (const hint of LABELS.filter((l) => l !== truth)) {
    const p = parseCompletion((await t.ask(sample(attrs), { tryIndex: 0, hint })).text);
    assert.ok(p.ok);
    if (!p.ok) continue;
    assert.equal(p.answer, hint);
    const stripped = stripHint(p.think, hint);
    assert.doesNotMatch(stripped, /given/);
    assert.match(stripped, new RegExp(`: ${hint}\\.$`));
  }
});
