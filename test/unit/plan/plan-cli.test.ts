// `clgrpo plan`: the ordered stages with their keys, and the decision hook the runtime plugs in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runWith } from '../../../lib/cli/plan';
import { run as validate } from '../../../lib/cli/validate';
import type { DecideFn } from '../../../lib/plan/decide';
import type { Plan } from '../../../lib/plan';

const ROOT = join(__dirname, '..', '..', '..');

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { err.push(a.join(' ')); };
  try {
    const code = await fn();
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

void test('plan --json: stages in order with keys, and the decisions of the injected decider', async () => {
  const decide: DecideFn = (s) => (s.id === 'data' ? { action: 'reuse', reason: 'artifact exists', artifactId: 'abc' } : { action: 'run', reason: 'new key' });
  const r = await capture(() => runWith([join(ROOT, 'test', 'fixtures', 'specs', 'good', 'golden.yaml'), '--json', '--set', 'stages.grpo_fmt.params.steps=6'], decide));
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { plan: Plan; decisions: { id: string; action: string; reason: string; artifactId?: string }[] };
  assert.equal(out.plan.stages.length, 9);
  assert.equal(out.plan.stages.find((s) => s.id === 'grpo_fmt')?.params.steps, 6);
  assert.deepEqual(out.decisions[0], { id: 'data', action: 'reuse', reason: 'artifact exists', artifactId: 'abc' });
  assert.ok(out.decisions.slice(1).every((d) => d.action === 'run'));
});

void test('plan table and exit codes', async () => {
  const ok = await capture(() => runWith([join(ROOT, 'pipelines', 'ablation-clip.yaml')]));
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /clgrpo\[clip\.high=0\.28\]\s+grpo\s+cpu\s+7\s+[0-9a-f]{12}\s+run/);
  const bad = await capture(() => runWith([join(ROOT, 'test', 'fixtures', 'specs', 'bad', 'cycle.yaml')]));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /cycle in needs: sft → grpo → sft/);
  assert.equal((await capture(() => runWith([join(ROOT, 'nope.yaml')]))).code, 2);
  assert.equal((await capture(() => runWith([]))).code, 2);
  const help = await capture(() => runWith(['--help']));
  assert.equal(help.code, 0);
  assert.match(help.out, /--set <path=value>/);
});

void test('validate --json lists warnings beside errors', async () => {
  const r = await capture(() => validate([join(ROOT, 'test', 'fixtures', 'specs', 'good', 'golden.yaml'), '--json', '--set', 'stages.clgrpo.params.iterations=1']));
  assert.equal(r.code, 0);
  const out = JSON.parse(r.out) as { valid: boolean; errors: unknown[]; warnings: { path: string; message: string }[] };
  assert.equal(out.valid, true);
  assert.equal(out.warnings[0].path, 'stages.clgrpo.params.iterations');
  assert.match(out.warnings[0].message, /clip bounds never act/);
});
