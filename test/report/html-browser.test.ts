// Opens the rendered report in headless Debian chromium (playwright-core, never a downloaded
// browser) and checks that the results table and every kind of chart really rendered, that the
// page logged no error and fetched nothing, and saves a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { renderHtml } from '../../lib/report/render-html';
import { fixtureReportData } from './fixtures/report-data';
import { CHROMIUM, CHROMIUM_ARGS as ARGS } from '../../scripts/chromium';


void test('the HTML report renders its table and charts in headless chromium', async (t) => {
  assert.ok(existsSync(CHROMIUM), `Debian chromium not found at ${CHROMIUM}: install it with `
    + '`node scripts/setup.js --for test` (what `npm test` runs first; as root it installs it) or set CLGRPO_CHROMIUM to its path');
  const out = mkdtempSync(join(tmpdir(), 'clgrpo-report-'));
  const profile = mkdtempSync(join(tmpdir(), 'clgrpo-chromium-'));
  const htmlPath = join(out, 'report.html');
  writeFileSync(htmlPath, renderHtml(fixtureReportData()));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  try {
    const page = browser.pages()[0] ?? await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(`file://${htmlPath}`, { waitUntil: 'load' });

    const rows = await page.$$eval('table.results tbody tr th.stage', (ths) => ths.map((t) => (t.textContent ?? '').trim()));
    assert.deepEqual(rows, ['baseline baseline', 'sft', 'grpo_fmt', 'grpo_full', 'clgrpo', 'grpo_cont']);
    const deltas = await page.$$eval('table.results tbody tr:nth-child(5) td.delta', (tds) => tds.map((t) => t.textContent));
    assert.match(deltas[0] ?? '', /^\+\d+\.\d$/, 'clgrpo row shows a signed accuracy delta in points');
    const fair = await page.$$eval('table.fair tbody tr th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(fair, ['clgrpo'], 'CLGRPO is compared with its plain-GRPO control');

    // A string, not a function: tsx's name-keeping helper (__name) does not exist in the page.
    const stats = await page.evaluate(`(() => {
      const box = (sel) => [...document.querySelectorAll(sel)].map((e) => e.getBBox());
      return {
        lines: box('#curves svg path.series').filter((b) => b.width > 50 && b.height > 1).length,
        bars: box('#results svg rect.bar').filter((b) => b.height > 1).length,
        cotBars: box('#cot svg rect.bar').filter((b) => b.height > 1).length,
        cells: document.querySelectorAll('#confusion svg rect.cell').length,
        nodes: box('#lineage svg g.node rect').filter((b) => b.width > 50).length,
        edges: document.querySelectorAll('#lineage svg path.edge').length,
        forestRows: box('#results svg g.forest-row rect.mean').filter((b) => b.width > 1).length,
        zeroLines: box('#results svg line.zero-line').filter((b) => b.height > 10).length,
        svgs: [...document.querySelectorAll('svg.chart')].filter((s) => s.getBoundingClientRect().width > 100).length,
      };
    })()`) as Record<string, number>;
    assert.ok(stats.lines >= 40, `curves drawn: ${stats.lines} visible line series`);
    assert.equal(stats.bars, 6 * 8, 'per-class recall: 6 rows × 8 classes');
    assert.equal(stats.cotBars, 2 * (8 + 2), 'COT keep rate per seed: 8 classes + 2 teachers');
    assert.equal(stats.cells, 6 * 8 * 9, 'six 8×9 confusion matrices');
    assert.equal(stats.nodes, 20, 'lineage: 2 seeds × 10 stages');
    assert.ok(stats.edges >= 20, `lineage edges: ${stats.edges}`);
    assert.equal(stats.forestRows, 2, 'forest plots: 1 comparison (clgrpo − grpo_cont) × accuracy and macro recall');
    assert.equal(stats.zeroLines, 2, 'each forest plot draws its zero line');
    const verdicts = await page.$$eval('table.stats tbody td.verdict', (tds) => tds.map((t) => t.textContent));
    assert.equal(verdicts.length, 2, 'the stats table gives a verdict per metric');
    assert.ok(stats.svgs >= 30, `visible charts: ${stats.svgs}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], 'the report fetches nothing');

    const png = join(out, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok(statSync(png).size > 50_000, 'screenshot written');
    const keep = resolve(__dirname, '../../test-results');
    mkdirSync(keep, { recursive: true });
    copyFileSync(png, join(keep, 'report.png'));
    t.diagnostic(`report and screenshot kept in ${out} and ${join(keep, 'report.png')}`);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
