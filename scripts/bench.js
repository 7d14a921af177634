#!/usr/bin/env node
// `npm run bench [name...]`: runs bench/<name>.ts (all of them by default), one at a time so they do
// not compete for the two cores; each writes bench/results/<name>.json. Exit 1 if any failed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'bench');
const all = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
let failed = 0;
for (const name of wanted) {
  if (!all.includes(name)) { console.error(`bench: no bench/${name}.ts (have: ${all.join(', ')})`); failed++; continue; }
  console.log(`\n== bench/${name}.ts`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, `${name}.ts`)], { cwd: root, stdio: 'inherit' });
  console.log(`== ${name}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
