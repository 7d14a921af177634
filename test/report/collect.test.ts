// The collector reads what a run leaves in a real store and gives back the same numbers the run
// produced; the CLI writes the three report files and fails clearly on a run it cannot find.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResultsTables } from '../../lib/report/aggregate';
import { collectReport } from '../../lib/report/collect';
import { ArtifactStore } from '../../lib/store';
import { run } from '../../lib/cli/report';
import { fixtureReportData } from './fixtures/report-data';
import { writeFixtureStore } from './fixtures/store';

function withStore<T>(f: (root: string, runName: string) => T | Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), 'clgrpo-report-store-'));
  const runName = writeFixtureStore(root, fixtureReportData());
  return Promise.resolve(f(root, runName)).finally(() => rmSync(root, { recursive: true, force: true }));
}

void test('collect: a run in the store yields the fixture numbers, curves, COT stats and lineage', () => withStore((root, runName) => {
  const fixture = fixtureReportData();
  const data = collectReport(new ArtifactStore(root), [runName], new Date('2026-11-26T12:00:00Z'));
  assert.deepEqual(data.warnings, []);
  assert.equal(data.runs[0].id, runName);
  assert.equal(data.runs[0].status, 'succeeded');
  assert.ok(data.runs[0].wallSeconds! > 0);
  assert.deepEqual(data.stages.map((s) => s.id), fixture.stages.map((s) => s.id));
  assert.ok(data.stages.every((s) => s.artifactId && /^[0-9a-f]{64}$/.test(s.artifactId)));
  assert.equal(data.curves.length, fixture.curves.length);
  assert.deepEqual(data.curves[0].curves.loss, fixture.curves[0].curves.loss);
  assert.deepEqual(data.cot[0].perClass, fixture.cot[0].perClass);
  assert.equal(data.lineage.nodes.length, fixture.lineage.nodes.length);
  assert.equal(data.lineage.edges.length, fixture.lineage.edges.length);
  const want = buildResultsTables(fixture)[0];
  const got = buildResultsTables(data)[0];
  assert.equal(got.baseline, 'baseline');
  assert.deepEqual(got.rows.map((r) => [r.group, r.metrics.accuracy.mean, r.delta?.accuracy]), want.rows.map((r) => [r.group, r.metrics.accuracy.mean, r.delta?.accuracy]));
  // Model results are tied to this run's stages through the artifact ids the eval report names.
  const ev = data.evals[0];
  assert.ok(ev.models.every((m) => data.stages.find((s) => s.id === m.stageId)?.artifactId === m.artifactId));
}));

void test('collect: a missing report input becomes a warning, not a crash', () => withStore((root, runName) => {
  const store = new ArtifactStore(root);
  const data0 = collectReport(store, [runName]);
  const cot = data0.stages.find((s) => s.kind === 'cot')!;
  rmSync(join(store.artifactDir(cot.artifactId!), 'report.json'));
  const data = collectReport(store, [runName]);
  assert.equal(data.cot.length, 1);
  assert.equal(data.warnings.length, 2);
  assert.match(data.warnings[0], /has no report\.json/);
}));

void test('clgrpo report writes report.md, report.html and report-data.json and prints their paths', () => withStore(async (root, runName) => {
  const out = join(root, 'out');
  const logs: string[] = [];
  const errs: string[] = [];
  const [log, err] = [console.log, console.error];
  const home = process.env.CLGRPO_HOME;
  console.log = (s: string) => logs.push(s);
  console.error = (s: string) => errs.push(s);
  process.env.CLGRPO_HOME = root;
  try {
    assert.equal(await run([runName, '--out', out]), 0);
    assert.equal(await run(['no-such-run']), 2);
    assert.equal(await run([]), 2);
    assert.equal(await run([runName, '--out', join(root, 'out2'), '--baseline', 'grpo_full']), 0);
    assert.equal(await run([runName, '--out', join(root, 'out3'), '--json']), 0);
    assert.equal(await run([runName, '--bogus']), 2);
  } finally {
    console.log = log;
    console.error = err;
    if (home === undefined) delete process.env.CLGRPO_HOME; else process.env.CLGRPO_HOME = home;
  }
  assert.deepEqual(logs[0].split('\n'), ['report.md', 'report.html', 'report-data.json'].map((f) => join(out, f)));
  assert.ok(errs.some((e) => /no run record 'no-such-run'/.test(e)), errs.join('\n'));
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /\| \*\*baseline\*\* \(baseline\) \| sft \| 2 \| 1, 2 \|/);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<table class="results">/);
  assert.match(readFileSync(join(root, 'out2', 'report.md'), 'utf8'), /\*\*grpo_full\*\* \(baseline\)/);
  assert.ok(existsSync(join(out, 'report-data.json')));
  const json = JSON.parse(logs[logs.length - 1]) as { html: string; warnings: string[] };
  assert.equal(json.html, join(root, 'out3', 'report.html'));
  assert.deepEqual(json.warnings, []);
}));
