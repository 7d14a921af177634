import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATTRIBUTE_NAMES, COMBINATIONS_BY_LABEL, LABELS, allAttributeCombinations, compactRationale,
  confusableLabels, factorsOfLabel, labelFromAttributes, labelId, reasonFromAttributes,
  type SyntheticAttributes,
} from '../../../lib/ml/data/synthetic-rules';

const base: SyntheticAttributes = {
  palette: 'warm', light: 'dark', layout: 'rising', edges: 'angular', clutter: 'sparse', colour: 'vivid', scale: 'large',
};

void test('the labels are the 8 EmoSet classes in EmoSet order', () => {
  assert.deepEqual([...LABELS], ['amusement', 'awe', 'contentment', 'excitement', 'anger', 'disgust', 'fear', 'sadness']);
  assert.equal(labelId('sadness'), 7);
  assert.throws(() => labelId('joy'), /unknown label "joy"/);
});

void test('majority votes decide valence and arousal, scale splits the quadrant', () => {
  // warm + rising (2 of 3) → positive; angular + vivid (2 of 3) → high; large → excitement.
  assert.equal(labelFromAttributes(base), 'excitement');
  assert.equal(labelFromAttributes({ ...base, scale: 'small' }), 'amusement');
  assert.equal(labelFromAttributes({ ...base, layout: 'sinking' }), 'anger');
  assert.equal(labelFromAttributes({ ...base, layout: 'sinking', scale: 'small' }), 'fear');
  assert.equal(labelFromAttributes({ ...base, colour: 'muted' }), 'awe');
  assert.equal(labelFromAttributes({ ...base, colour: 'muted', scale: 'small' }), 'contentment');
  assert.equal(labelFromAttributes({ ...base, colour: 'muted', palette: 'cool' }), 'disgust');
  assert.equal(labelFromAttributes({ ...base, colour: 'muted', palette: 'cool', scale: 'small' }), 'sadness');
  assert.throws(() => labelFromAttributes({ ...base, palette: 'hot' }), /palette has no level "hot"/);
});

void test('every label is implied by exactly 16 of the 128 combinations', () => {
  const all = allAttributeCombinations();
  assert.equal(all.length, 128);
  assert.equal(new Set(all.map((a) => JSON.stringify(a))).size, 128);
  for (const l of LABELS) {
    assert.equal(COMBINATIONS_BY_LABEL[l].length, 16, l);
    for (const a of COMBINATIONS_BY_LABEL[l]) assert.equal(labelFromAttributes(a), l);
  }
});

void test('confusable labels differ in exactly one factor', () => {
  for (const l of LABELS) {
    const f = factorsOfLabel(l);
    const conf = confusableLabels(l);
    assert.equal(new Set(conf).size, 3);
    for (const c of conf) {
      const g = factorsOfLabel(c);
      const diff = Number(f.valence !== g.valence) + Number(f.arousal !== g.arousal) + Number(f.scale !== g.scale);
      assert.equal(diff, 1, `${l} vs ${c}`);
    }
  }
});

void test('unclear attributes leave the label open only when the vote is open', () => {
  // warm + rising already give 2 of 3 positive cues: light does not matter.
  assert.equal(reasonFromAttributes({ ...base, light: null }).label, 'excitement');
  // warm + sinking: the unclear light decides valence, so the label is open.
  const open = reasonFromAttributes({ ...base, layout: 'sinking', light: null });
  assert.equal(open.steps[0].decision, null);
  assert.equal(open.label, null);
  assert.equal(reasonFromAttributes({ ...base, scale: null }).label, null);
  const partial = Object.fromEntries(ATTRIBUTE_NAMES.map((n) => [n, null]));
  assert.equal(reasonFromAttributes(partial).label, null);
});

void test('the compact rationale names the cues, counts and the label', () => {
  assert.equal(compactRationale(base),
    'warm colours, dark light, rising forms: 2 of 3 positive cues, positive valence. '
    + 'angular edges, sparse scene, vivid colour: 2 of 3 energetic cues, high arousal. large forms: excitement.');
  assert.match(compactRationale({ ...base, layout: 'sinking', light: null }), /unclear light.*undecided valence.*: undecided\.$/);
});
