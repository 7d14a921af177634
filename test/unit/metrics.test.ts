// Eval metrics on a hand-counted set of predictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusionMatrix, flatMetrics, modelReport, renderEvalMarkdown, type Prediction } from '../../lib/ml/metrics';

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

test('the eval report renders one row per model and a confusion matrix each', () => {
  const m = classificationMetrics([p('awe', 'awe'), p('fear', null, 0), p('anger', 'anger')], L);
  const r = { split: 'test', labels: L, models: [modelReport('sft', 'a1', m), modelReport('clgrpo[clip.high=0.1]', 'a2', m)] };
  const md = renderEvalMarkdown(r);
  assert.match(md, /^# Evaluation on the test split/);
  assert.match(md, /\| model \| n \| accuracy % \| macro recall % \| format % \| awe % \| fear % \| anger % \|/);
  assert.match(md, /\| sft \| 3 \| 66\.7 \| 66\.7 \| 66\.7 \| 100\.0 \| 0\.0 \| 100\.0 \|/);
  assert.match(md, /\| clgrpo\[clip.high=0.1\] \| 3 \|/);
  assert.match(md, /\| fear \| 0 \| 0 \| 0 \| 1 \|/);
  assert.equal((md.match(/## Confusion matrix/g) ?? []).length, 2);
  assert.deepEqual(flatMetrics(r)['sft.accuracy'], 2 / 3);
  assert.deepEqual(Object.keys(r.models[0]).sort(), ['accuracy', 'artifactId', 'confusion', 'formatRate', 'macroRecall', 'n',
    'name', 'perClassRecall', 'unparseableRate']);
});
