// The cot report on a fixture whose counts are known by construction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../../lib/teachers/report';
import { judge } from '../../../lib/teachers/annotate';
import { selectChain } from '../../../lib/teachers/select';
import type { SampleResult } from '../../../lib/teachers/annotate';
import type { Teacher, TeacherSample } from '../../../lib/teachers/types';

const labels = ['awe', 'fear'];
const t = (id: string) => ({ id } as Teacher);
const s = (index: number, label: string): TeacherSample => ({ index, label, labelId: labels.indexOf(label), attributes: {}, imageSha256: `i${index}`, png: async () => new Uint8Array() });
const ok = (a: string) => `<think>because ${a}</think><answer>${a}</answer>`;

// Three samples; teacher A answers right on 0 and 1, teacher B right on 0, wrong on 1, malformed on 2.
// Sample 2 is rationalized by A with the hint.
function fixture(): SampleResult[] {
  const rows: Array<[TeacherSample, Array<[string, string, string?]>]> = [
    [s(0, 'awe'), [['A', ok('awe')], ['B', ok('awe')]]],
    [s(1, 'fear'), [['A', ok('fear')], ['B', ok('awe')]]],
    [s(2, 'fear'), [['A', ok('awe')], ['B', 'no idea'], ['A', '<think>dark. The given label is fear.</think><answer>fear</answer>', 'fear']]],
  ];
  return rows.map(([sample, asks]) => {
    const replies = asks.map(([id, text, hint]) => judge({ sample, teacher: t(id), tryIndex: 0, hint }, text, false));
    return { sample, replies, chosen: selectChain(replies, 'first', 'verified') };
  });
}

test('report: asked/kept per class and per teacher, agreement, malformed, rationalized', () => {
  const r = buildReport(fixture(), labels, ['A', 'B']);
  assert.equal(r.asked, 3);
  assert.equal(r.kept, 3);
  assert.equal(r.keepRate, 1);
  assert.deepEqual(r.perClass, { awe: { asked: 1, kept: 1, keepRate: 1 }, fear: { asked: 2, kept: 2, keepRate: 1 } });
  assert.deepEqual(r.perTeacher.A, { asked: 3, verified: 2, wrong: 1, malformed: 0, keepRate: 2 / 3 });
  assert.deepEqual(r.perTeacher.B, { asked: 3, verified: 1, wrong: 1, malformed: 1, keepRate: 1 / 3 });
  assert.deepEqual(r.agreement.pairs, [{ a: 'A', b: 'B', agree: 1, total: 2 }]);
  assert.equal(r.malformed, 1);
  assert.deepEqual(r.malformedReasons, { 'no <think>/<answer> tags': 1 });
  assert.deepEqual(r.rationalized, { asked: 1, kept: 1 });
  assert.deepEqual(r.keptByTeacher, { A: 3, B: 0 });
  const chosen2 = fixture()[2].chosen;
  assert.equal(chosen2?.pass, 'rationalize');
  assert.equal(chosen2?.think, 'dark.');
});

test('report: without the rationalized sample, an unsolved sample lowers its class keep rate', () => {
  const rs = fixture();
  rs[2] = { ...rs[2], replies: rs[2].replies.slice(0, 2), chosen: null };
  const r = buildReport(rs, labels, ['A', 'B']);
  assert.deepEqual(r.perClass.fear, { asked: 2, kept: 1, keepRate: 0.5 });
  assert.equal(r.keepRate, 2 / 3);
  assert.deepEqual(r.rationalized, { asked: 0, kept: 0 });
});
