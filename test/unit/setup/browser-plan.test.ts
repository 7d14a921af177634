// scripts/setup.js decides from facts alone whether `npm test`'s set-up has a browser to install:
// nothing when chromium is there, apt-get as root, otherwise one line with the exact command and a
// non-zero exit. And only `--for test` asks for the browser at all (`npm run demo` never does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

type Plan = { action: 'none' } | { action: 'apt'; commands: string[][] } | { action: 'stop'; message: string };
interface Setup {
  browserPlan(f: { hasChromium: boolean; isRoot: boolean; hasApt: boolean; hasSudo?: boolean; path?: string }): Plan;
  parseArgs(argv: string[]): { purpose: 'run' | 'test' };
}
const ROOT = resolve(__dirname, '..', '..', '..');
// A plain CommonJS script (it runs before node_modules exist), loaded without running main().
const setup = require(join(ROOT, 'scripts', 'setup.js')) as Setup;

test('browser present: nothing to do, whoever runs it', () => {
  for (const isRoot of [true, false]) for (const hasApt of [true, false]) {
    assert.deepEqual(setup.browserPlan({ hasChromium: true, isRoot, hasApt }), { action: 'none' });
  }
});

test('missing, root with apt-get: install Debian chromium', () => {
  assert.deepEqual(setup.browserPlan({ hasChromium: false, isRoot: true, hasApt: true }), {
    action: 'apt', commands: [['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', 'chromium']],
  });
});

test('missing, not root: stop with the exact command, on one line', () => {
  const p = setup.browserPlan({ hasChromium: false, isRoot: false, hasApt: true, hasSudo: true });
  assert.equal(p.action, 'stop');
  const msg = (p as { message: string }).message;
  assert.ok(msg.includes('`sudo apt-get install -y chromium`'), msg);
  assert.doesNotMatch(msg, /\n/);
  const noSudo = setup.browserPlan({ hasChromium: false, isRoot: false, hasApt: true, hasSudo: false });
  assert.match((noSudo as { message: string }).message, /`apt-get install -y chromium` as root/);
  const noApt = setup.browserPlan({ hasChromium: false, isRoot: true, hasApt: false, path: '/opt/chrome' });
  assert.equal(noApt.action, 'stop');
  assert.match((noApt as { message: string }).message, /at \/opt\/chrome \(CLGRPO_CHROMIUM\).*set CLGRPO_CHROMIUM/);
});

test('--for test asks for the browser; plain set-up (npm run demo) does not; anything else is refused', () => {
  assert.deepEqual(setup.parseArgs([]), { purpose: 'run' });
  assert.deepEqual(setup.parseArgs(['--for', 'test']), { purpose: 'test' });
  assert.throws(() => setup.parseArgs(['--for', 'tests']), /usage: node scripts\/setup\.js \[--for test\]/);
  assert.throws(() => setup.parseArgs(['--bogus']), /usage/);
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.match(scripts.test, /^node scripts\/setup\.js --for test && /);
  assert.match(scripts.demo, /^node scripts\/setup\.js && /);
  // CI is the README's test command and nothing else: the set-up owns what the tests need.
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.deepEqual(ci.slice(-1), ['npm test']);
  assert.doesNotMatch(ci.join('\n'), /apt-get|chromium/);
});

test('an unknown argument stops set-up with exit 2 before it installs anything', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.js'), '--for', 'nothing'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^\[setup\] usage: node scripts\/setup\.js \[--for test\]/);
});
