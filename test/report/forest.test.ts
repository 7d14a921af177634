// The forest plot: well-formed SVG (balanced tags, quoted attributes, escaped text), one row per
// comparison, the zero line inside the plot even when every interval is far from 0, and each
// interval on the right side of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forestPlot } from '../../lib/report/svg/forest';

/** A small XML well-formedness check: tags balance, attributes are quoted, no bare `&` or `<`. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const textBetween = svg.slice(last, m.index);
    assert.ok(!/[<>]/.test(textBetween), `stray markup before ${m[0]}: ${textBetween.slice(0, 60)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(textBetween), `bare & in ${textBetween.slice(0, 60)}`);
    last = tag.lastIndex;
    if (m[4]) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `</${m[2]}> closes the wrong element`);
    else stack.push(m[2]);
  }
  assert.equal(svg.slice(last).trim(), '', 'nothing after the last tag');
  assert.deepEqual(stack, [], 'every element closed');
}

const num = (s: string, attr: string) => Number(new RegExp(`${attr}="([-\\d.]+)"`).exec(s)?.[1]);

void test('forestPlot: well-formed, one row per comparison, zero line present and placed', () => {
  const rows = [
    { label: 'clgrpo[clip.high=0.1] − clgrpo[clip.high=0.2]', mean: 2.4, lo: 2.0, hi: 3.0, points: [2, 2.2, 2.5, 2.7, 3], note: '+2.4 [+2.0, +3.0] · 5/5 +' },
    { label: 'grpo_fmt − baseline_fmt', mean: -0.2, lo: -0.6, hi: 0.2, points: [-0.6, 0.2], note: '−0.2 [−0.6, +0.2] · 1/5 + · ≈ 0', spansZero: true },
    { label: 'a & <b>', mean: -3, lo: -4, hi: -2, note: 'x' },
  ];
  const svg = forestPlot({ title: 'Paired differences & CI', rows });
  assertWellFormed(svg);
  const rowsSvg = svg.match(/<g class="forest-row">[\s\S]*?<\/g>/g) ?? [];
  assert.equal(rowsSvg.length, 3);
  assert.match(svg, /a &amp; &lt;b&gt;/);
  const zeroTag = /<line class="zero-line"[^>]*>/.exec(svg)?.[0] ?? '';
  assert.ok(zeroTag, 'zero line drawn');
  const z = num(zeroTag, 'x1');
  const bg = /<rect class="plot-bg"[^>]*>/.exec(svg)![0];
  assert.ok(z > num(bg, 'x') && z < num(bg, 'x') + num(bg, 'width'), 'zero line inside the plot');
  const ci = (i: number) => { const l = /<line class="ci"[^>]*>/.exec(rowsSvg[i])![0]; return [num(l, 'x1'), num(l, 'x2')]; };
  assert.ok(ci(0)[0] > z, 'a positive interval lies right of 0');
  assert.ok(ci(1)[0] < z && ci(1)[1] > z, 'an interval spanning 0 crosses the line');
  assert.ok(ci(2)[1] < z, 'a negative interval lies left of 0');
  assert.equal((rowsSvg[0].match(/class="seed-dot"/g) ?? []).length, 5, 'one dot per seed');
  assert.match(rowsSvg[1], /stroke="#7b8794"/, 'an interval spanning 0 is drawn muted');
});

void test('forestPlot keeps 0 on the axis when every interval is far from it, and tolerates no rows', () => {
  const svg = forestPlot({ title: 't', rows: [{ label: 'far', mean: 40, lo: 38, hi: 42 }] });
  assertWellFormed(svg);
  const z = num(/<line class="zero-line"[^>]*>/.exec(svg)![0], 'x1');
  const bg = /<rect class="plot-bg"[^>]*>/.exec(svg)![0];
  assert.ok(z >= num(bg, 'x') && z <= num(bg, 'x') + num(bg, 'width'));
  const empty = forestPlot({ title: 'none', rows: [] });
  assertWellFormed(empty);
  assert.equal((empty.match(/forest-row/g) ?? []).length, 0);
});
