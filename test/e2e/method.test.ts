// End to end of the whole method through Temporal and the real CLI: `clgrpo run` of
// fixtures/method.yaml (dataset → pretrain → cot → sft → grpo format → grpo format+accuracy →
// ClipLow GRPO, the label baseline, eval; a few steps each) on the embedded dev server that `run`
// starts itself. Every stage publishes an artifact of its kind, made by that stage; a second run of
// the same spec (same default run name: a closed run does not block it) reuses every one of them
// and publishes nothing new. Reuse is read from the CLI's --json summary and the store, never from
// pinned stage-key values.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePortPair } from '../../lib/temporal/dev-server';

const ROOT = resolve(__dirname, '..', '..');
const SPEC = join(__dirname, 'fixtures', 'method.yaml');
/** Stage id → the artifact kind it must publish (the plan's order). */
const KINDS: Record<string, string> = {
  data: 'dataset', base: 'model', cot: 'cot-dataset', sft: 'model', grpo_fmt: 'model', grpo_full: 'model',
  clgrpo: 'model', baseline: 'model', eval: 'eval-report',
};
let env: NodeJS.ProcessEnv;
let home: string;

interface Summary { workflowId: string; state: string; stages: Array<{ id: string; state: string; reused?: boolean; artifactId?: string }> }
interface Manifest { kind: string; producer: { stageId: string; workflowId: string }; inputs: Array<{ artifactId: string }> }

function clgrpo(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clgrpo.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function runJson(): Summary {
  const r = clgrpo('run', SPEC, '--json');
  assert.equal(r.code, 0, `${r.out}\n${r.err.slice(-4000)}`);
  return JSON.parse(r.out) as Summary;
}

const manifest = (id: string): Manifest => JSON.parse(readFileSync(join(home, 'artifacts', id, 'manifest.json'), 'utf8')) as Manifest;
const artifacts = (): string[] => readdirSync(join(home, 'artifacts')).filter((d) => existsSync(join(home, 'artifacts', d, 'manifest.json'))).sort();

before(async () => {
  const { TEMPORAL_ADDRESS: _t, ...rest } = process.env;
  home = mkdtempSync(join(tmpdir(), 'clgrpo-e2e-method-'));
  env = { ...rest, CLGRPO_HOME: home, CLGRPO_TEMPORAL_PORT: String(await freePortPair()) };
});
after(() => { clgrpo('server', 'stop'); });

test('the whole method runs through Temporal, every stage publishes its kind; a second run reuses all', () => {
  const t0 = Date.now();
  const first = runJson();
  const firstMs = Date.now() - t0;
  assert.equal(first.state, 'succeeded');
  assert.deepEqual(first.stages.map((s) => s.id), Object.keys(KINDS));
  for (const s of first.stages) {
    assert.equal(s.state, 'succeeded', `${s.id}: ${JSON.stringify(s)}`);
    assert.ok(!s.reused, `${s.id} ran in the first run of a fresh store`);
    assert.match(s.artifactId ?? '', /^[0-9a-f]{64}$/, s.id);
    const m = manifest(s.artifactId as string);
    assert.equal(m.kind, KINDS[s.id], `${s.id} published a ${m.kind}`);
    assert.equal(m.producer.stageId, s.id);
    assert.equal(m.producer.workflowId, first.workflowId);
  }
  const byId = new Map(first.stages.map((s) => [s.id, s.artifactId as string]));
  const evaluated = new Set(manifest(byId.get('eval') as string).inputs.map((i) => i.artifactId));
  for (const model of ['baseline', 'sft', 'grpo_fmt', 'grpo_full', 'clgrpo', 'data']) assert.ok(evaluated.has(byId.get(model) as string), `eval read ${model}`);
  const published = artifacts();
  assert.deepEqual(published, [...byId.values()].sort(), 'exactly one artifact per stage');

  const t1 = Date.now();
  const second = runJson();
  const secondMs = Date.now() - t1;
  assert.equal(second.workflowId, first.workflowId, 'the same spec runs again under its default run name');
  assert.equal(second.state, 'succeeded');
  assert.deepEqual(second.stages.map((s) => [s.id, s.state, s.artifactId]), first.stages.map((s) => [s.id, 'reused', s.artifactId]));
  assert.deepEqual(artifacts(), published, 'the second run published nothing new');
  const status = clgrpo('status', first.workflowId);
  assert.equal(status.code, 0, status.out + status.err);
  assert.match(status.out, new RegExp(`run ${first.workflowId}: succeeded`));
  console.error(`[e2e method] first run ${(firstMs / 1000).toFixed(1)} s, second (all reused) ${(secondMs / 1000).toFixed(1)} s`);
});
