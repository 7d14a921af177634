// Spec benchmarks: how long loading, checking and compiling take, and that hostile inputs (a 1 MB
// spec, a 10,000-alias bomb, 256 KiB of nesting) are refused fast with bounded memory.
// Prints a table and writes bench/results/spec.json (medians of N runs, milliseconds).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile, loadSpecText } from '../lib/spec';
import { compilePlan } from '../lib/plan';
import { MAX_SPEC_BYTES } from '../lib/spec/yaml-safe';

const ROOT = join(__dirname, '..');
const OK = 'schemaVersion: 1\nname: t\nstages:\n  data: { kind: dataset }\n';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Row { name: string; medianMs: number; maxMs: number; runs: number; heapDeltaMiB: number; outcome: string }

function measure(name: string, runs: number, fn: () => string): Row {
  fn(); // warm-up: ajv compiles the schema once per process
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  const times: number[] = [];
  let outcome = '';
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    outcome = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  return { name, medianMs: +median(times).toFixed(3), maxMs: +Math.max(...times).toFixed(3), runs, heapDeltaMiB: +((peak - heap0) / 2 ** 20).toFixed(2), outcome };
}

function rejected(r: ReturnType<typeof loadSpecText>): string {
  return 'errors' in r ? `rejected: ${r.errors[0].message.slice(0, 60)} (${r.errors.length} errors)` : 'ACCEPTED';
}

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'clgrpo-bench-spec-'));
  try {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, `${OK}description: "${'a'.repeat(1024 * 1024)}"\n`);
    const bombText = `${OK}bomb: &a [x, x, x, x, x, x, x, x, x, x]\nalso: [${Array.from({ length: 10_000 }, () => '*a').join(', ')}]\n`;
    const depth = Math.floor((MAX_SPEC_BYTES - 200) / 2);
    const deepText = `${OK}description: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    const rows: Row[] = [
      measure('load + check pipelines/demo.yaml', 30, () => ('spec' in loadSpecFile(join(ROOT, 'pipelines', 'demo.yaml')) ? 'valid' : 'INVALID')),
      measure('load + check + compile clgrpo-synthetic (20 stages)', 20, () => {
        const l = loadSpecFile(join(ROOT, 'pipelines', 'clgrpo-synthetic.yaml'));
        if (!('spec' in l)) return 'INVALID';
        const p = compilePlan(l.spec);
        return 'plan' in p ? `${p.plan.stages.length} stages` : 'INVALID';
      }),
      measure('1 MB spec file (refused by size before reading)', 30, () => rejected(loadSpecFile(big))),
      measure('1 MB spec text (refused by size before parsing)', 30, () => rejected(loadSpecText(`${OK}description: "${'a'.repeat(1024 * 1024)}"\n`, 'big.yaml'))),
      measure('10,000-alias bomb', 10, () => rejected(loadSpecText(bombText, 'bomb.yaml'))),
      measure(`nesting ${depth} deep (256 KiB)`, 5, () => rejected(loadSpecText(deepText, 'deep.yaml'))),
    ];
    for (const r of rows) console.log(`${r.name.padEnd(56)} median ${String(r.medianMs).padStart(9)} ms  max ${String(r.maxMs).padStart(9)} ms  heap +${r.heapDeltaMiB} MiB  ${r.outcome}`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'spec.json'), `${JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
