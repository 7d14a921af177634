// Eval metrics on a hand-counted set of predictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusionMatrix, type Prediction } from '../../lib/ml/metrics';

const L = ['awe', 'fear', 'anger'];
const p = (label: string, predicted: string | null, format = 1): Prediction => ({ label, predicted, format });

test('accuracy, per-class and macro recall, format rate; unparseable counts as wrong', () => {
  const preds = [
    p('awe', 'awe'), p('awe', 'fear'), p('awe', null, 0), p('awe', 'awe'),  // awe recall 2/4
    p('fear', 'fear'), p('fear', 'fear', 0),                                 // fear recall 2/2
    p('anger', null, 0), p('anger', 'awe'),                                  // anger recall 0/2
  ];
  const m = classificationMetrics(preds, L);
  assert.equal(m.n, 8);
  assert.equal(m.accuracy, 4 / 8);
  assert.deepEqual(m.perClassRecall, { awe: 0.5, fear: 1, anger: 0 });
  assert.equal(m.macroRecall, (0.5 + 1 + 0) / 3);
  assert.equal(m.formatRate, 5 / 8);
  assert.equal(m.unparseableRate, 2 / 8);
  assert.deepEqual(m.confusion, [
    [2, 1, 0, 1],
    [0, 2, 0, 0],
    [1, 0, 0, 1],
  ]);
});

test('a class absent from the ground truth is left out of the macro mean; empty input gives zeros', () => {
  const m = classificationMetrics([p('awe', 'awe'), p('fear', 'awe')], L);
  assert.equal(m.macroRecall, 0.5);
  assert.equal(m.perClassRecall.anger, 0);
  const e = classificationMetrics([], L);
  assert.equal(e.accuracy, 0);
  assert.equal(e.macroRecall, 0);
});

test('an unknown predicted label lands in the unparseable column; an unknown true label throws', () => {
  assert.deepEqual(confusionMatrix([p('awe', 'joy')], L)[0], [0, 0, 0, 1]);
  assert.throws(() => confusionMatrix([p('joy', 'awe')], L), /'joy' is not one of/);
});
