// Saves a full-page PNG of a rendered report (`clgrpo report` writes report.html) with Debian's
// headless chromium through playwright-core (never a downloaded browser; CLGRPO_CHROMIUM overrides
// /usr/bin/chromium). A CSS selector as third argument shoots that element only (e.g. '#results': the
// tables and the forest plot). Used for docs/results/report.png:
//   node --import tsx scripts/screenshot-report.ts docs/results/report.html docs/results/report.png '#results'
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS as ARGS } from './chromium';


async function main(html: string | undefined, png: string | undefined, selector: string | undefined): Promise<number> {
  if (!html || !png) {
    console.error('usage: node --import tsx scripts/screenshot-report.ts <report.html> <out.png> [css selector]');
    return 2;
  }
  if (!existsSync(CHROMIUM)) {
    console.error(`chromium not found at ${CHROMIUM}: \`sudo apt-get install -y chromium\` or set CLGRPO_CHROMIUM`);
    return 2;
  }
  const profile = mkdtempSync(join(tmpdir(), 'clgrpo-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  try {
    const page = browser.pages()[0] ?? await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${resolve(html)}`, { waitUntil: 'load' });
    if (selector) await page.locator(selector).first().screenshot({ path: png });
    else await page.screenshot({ path: png, fullPage: true });
    for (const e of errors) console.error(`page error: ${e}`);
    console.log(png);
    return errors.length ? 1 : 0;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main(process.argv[2], process.argv[3], process.argv[4]).then((code) => { process.exitCode = code; }, (e: unknown) => { console.error(e); process.exitCode = 2; });
