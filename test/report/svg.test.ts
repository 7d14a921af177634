// SVG helpers: scales, nice ticks, paths with gaps, thinning, and the DAG layout's layering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimalsFor, extent, formatTick, linearScale, niceStep, niceTicks, thin } from '../../lib/report/svg/scale';
import { linePath, lineChart } from '../../lib/report/svg/line-chart';
import { assignLayers, layoutDag } from '../../lib/report/svg/dag';
import { esc } from '../../lib/report/svg/util';
import { ramp } from '../../lib/report/svg/heatmap';
import type { LineageGraph } from '../../lib/report/model';

void test('linearScale maps the domain onto the range, inverted ranges included', () => {
  const y = linearScale([0, 10], [200, 0]);
  assert.equal(y(0), 200);
  assert.equal(y(10), 0);
  assert.equal(y(2.5), 150);
  assert.equal(linearScale([3, 3], [0, 100])(3), 50);
});

void test('niceStep and niceTicks give 1-2-5 steps covering the data', () => {
  assert.equal(niceStep(1, 5), 0.2);
  assert.equal(niceStep(600, 5), 100);
  assert.equal(niceStep(0.023, 5), 0.005);
  assert.deepEqual(niceTicks(0, 1, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const t = niceTicks(0.0031, 0.0219, 5);
  assert.deepEqual(t.domain, [0, 0.025]);
  assert.deepEqual(t.ticks, [0, 0.005, 0.01, 0.015, 0.02, 0.025]);
  assert.deepEqual(niceTicks(-1.3, 2.1, 4).ticks, [-2, -1, 0, 1, 2, 3]);
  assert.deepEqual(niceTicks(5, 5).domain, [4.4, 5.6]); // ±10 % around a constant, on 0.2 steps
  assert.deepEqual(niceTicks(NaN, 1).domain, [0, 1]);
});

void test('tick labels print exactly the decimals the step needs', () => {
  assert.equal(decimalsFor(0.005), 3);
  assert.equal(decimalsFor(100), 0);
  assert.equal(formatTick(0.1 + 0.2, 0.1), '0.3');
  assert.equal(formatTick(20000, 5000), '20k');
  assert.equal(formatTick(0.00002, 0.00001), '2.0e-5');
});

void test('extent skips non-finite values; thin keeps the last point', () => {
  assert.deepEqual(extent([3, NaN, -1, Infinity, 2]), [-1, 3]);
  assert.equal(extent([NaN]), undefined);
  const pts = Array.from({ length: 1000 }, (_, i) => i);
  const th = thin(pts, 100);
  assert.equal(th.length, 100);
  assert.equal(th[0], 0);
  assert.equal(th[99], 999);
  assert.equal(thin([1, 2], 100).length, 2);
});

void test('linePath breaks at non-finite values instead of drawing through zero', () => {
  const id = (v: number) => v;
  assert.equal(linePath([[0, 1], [1, 2], [2, NaN], [3, 4]], id, id), 'M0 1L1 2M3 4');
});

void test('lineChart escapes labels and says so when there is no data', () => {
  const svg = lineChart({ title: 'a<b', series: [{ label: 'x&y', points: [[1, 1], [2, 3]], color: '#000' }] });
  assert.match(svg, /<title>a&lt;b<\/title>/);
  assert.match(svg, /x&amp;y/);
  assert.match(svg, /<path class="series" d="M/);
  assert.match(lineChart({ title: 't', series: [] }), />no data</);
  assert.equal(esc('"<&>'), '&quot;&lt;&amp;&gt;');
});

void test('heatmap ramp runs from near white to dark blue', () => {
  assert.equal(ramp(0), 'rgb(247,251,255)');
  assert.equal(ramp(1), 'rgb(8,69,148)');
  assert.equal(ramp(NaN), ramp(0));
});

void test('DAG layering: longest path from a source, cycles do not hang, nodes never overlap', () => {
  const g: LineageGraph = {
    nodes: ['d', 'p', 'c', 's', 'e'].map((id) => ({ id, label: id, kind: 'sft' as const })),
    edges: [['d', 'p'], ['d', 'c'], ['p', 's'], ['c', 's'], ['s', 'e'], ['d', 'e']].map(([from, to]) => ({ from, to, input: 'x' })),
  };
  const layers = assignLayers(g);
  assert.deepEqual(['d', 'p', 'c', 's', 'e'].map((id) => layers.get(id)), [0, 1, 1, 2, 3]);
  const lay = layoutDag(g);
  const [a, b] = [lay.pos.get('p')!, lay.pos.get('c')!];
  assert.equal(a.y, b.y);
  assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x, 'same-layer nodes do not overlap');
  const cyc = assignLayers({ nodes: g.nodes.slice(0, 2), edges: [{ from: 'd', to: 'p', input: '' }, { from: 'p', to: 'd', input: '' }] });
  assert.equal(cyc.size, 2);
});

void test('DAG: an edge skipping layers runs through one virtual node per skipped layer', () => {
  const g: LineageGraph = {
    nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, label: id, kind: 'grpo' as const })),
    edges: [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'd']].map(([from, to]) => ({ from, to, input: 'model' })),
  };
  const lay = layoutDag(g);
  const long = lay.chains.find((c) => c.edge.from === 'a' && c.edge.to === 'd')!;
  assert.equal(long.ids.length, 4);
  // The virtual points sit beside b and c, never on top of them.
  for (const [v, real] of [[long.ids[1], 'b'], [long.ids[2], 'c']]) {
    const pv = lay.pos.get(v)!;
    const pr = lay.pos.get(real)!;
    assert.equal(pv.y, pr.y);
    assert.ok(pv.x + pv.w <= pr.x || pr.x + pr.w <= pv.x);
  }
});
