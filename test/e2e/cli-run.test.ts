// End to end through the real CLI: `clgrpo run` of a DAG of dataset stages on the embedded dev
// server (started by run itself), a second run reusing every stage, `lineage`, `verify` passing and
// then failing by name on a tampered file, `status`/`runs` from the record, `server stop`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePortPair } from '../../lib/temporal/dev-server';

const ROOT = resolve(__dirname, '..', '..');
const SPEC = join(__dirname, 'fixtures', 'datasets.yaml');
let env: NodeJS.ProcessEnv;

function clgrpo(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clgrpo.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

before(async () => {
  const { TEMPORAL_ADDRESS: _t, ...rest } = process.env;
  env = { ...rest, CLGRPO_HOME: mkdtempSync(join(tmpdir(), 'clgrpo-e2e-')), CLGRPO_TEMPORAL_PORT: String(await freePortPair()) };
});
after(() => { clgrpo('server', 'stop'); });

test('run → reuse → lineage → verify → tamper → verify names the file', () => {
  const first = clgrpo('run', SPEC, '--name', 'e2e-one');
  assert.equal(first.code, 0, first.out + first.err);
  assert.match(first.out, /Temporal Web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/e2e-one\//);
  for (const s of ['a', 'b', 'c']) assert.match(first.out, new RegExp(`^${s}\\s+succeeded\\s+ran\\s`, 'm'));

  const again = clgrpo('run', SPEC, '--name', 'e2e-two', '--json');
  assert.equal(again.code, 0, again.err);
  const st = JSON.parse(again.out) as { state: string; stages: { state: string; artifactId: string }[] };
  assert.equal(st.state, 'succeeded');
  assert.deepEqual(st.stages.map((s) => s.state), ['reused', 'reused', 'reused']);

  const status = clgrpo('status', 'e2e-one');
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /run e2e-one: succeeded/);
  assert.match(clgrpo('runs').out, /e2e-two\s+e2e-datasets\s+succeeded\s+3\/3/);

  const lineage = JSON.parse(clgrpo('lineage', 'e2e-one', '--format', 'json').out) as { nodes: Record<string, { stageId: string }> };
  assert.deepEqual(Object.values(lineage.nodes).map((n) => n.stageId).sort(), ['a', 'b', 'c']);
  const tree = clgrpo('lineage', st.stages[1].artifactId.slice(0, 10));
  assert.match(tree.out, /^b \[dataset\] [0-9a-f]{12}/);
  assert.match(clgrpo('lineage', 'e2e-one', '--format', 'mermaid').out, /^graph TD/);

  const ok = clgrpo('verify', 'e2e-one');
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /3 artifacts verified/);

  const dir = join(env.CLGRPO_HOME as string, 'artifacts', st.stages[1].artifactId);
  const victim = readdirSync(dir).find((f) => f.endsWith('.u8')) as string;
  const bytes = readFileSync(join(dir, victim));
  bytes[0] ^= 0xff;
  writeFileSync(join(dir, victim), bytes);
  const bad = clgrpo('verify', 'e2e-one');
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, new RegExp(`CHANGED  ${st.stages[1].artifactId.slice(0, 12)}  b`));
  assert.match(bad.out, new RegExp(`changed: ${victim.replace('.', '\\.')}`));
  assert.match(bad.out, /1 of 3 artifacts failed verification/);
});

test('a spec error exits 1 without starting anything; unknown run exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clgrpo-e2e-spec-'));
  writeFileSync(join(dir, 'bad.yaml'), 'schemaVersion: 1\nname: bad\nstages:\n  a: { kind: datasett }\n');
  const r = clgrpo('run', join(dir, 'bad.yaml'));
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.err, /bad\.yaml:4/);
  assert.equal(clgrpo('lineage', 'no-such-run').code, 2);
});

test('--detach returns at once; a second start of the same name is refused; cancel and watch end it', () => {
  const d = clgrpo('run', SPEC, '--name', 'e2e-detached', '--detach', '--set', 'seed=99');
  assert.equal(d.code, 0, d.out + d.err);
  assert.match(d.out, /detached: follow with 'clgrpo watch e2e-detached'/);
  const dup = clgrpo('run', SPEC, '--name', 'e2e-detached', '--no-worker', '--set', 'seed=99');
  assert.equal(dup.code, 2, dup.out + dup.err);
  assert.match(dup.err, /a run named 'e2e-detached' is already running/);
  const c = clgrpo('cancel', 'e2e-detached');
  assert.equal(c.code, 0, c.out + c.err);
  assert.match(c.out, /cancellation requested for e2e-detached/);
  // No worker has touched it yet: `resume` of an open run attaches a worker, which carries out the cancel.
  const again = clgrpo('resume', 'e2e-detached');
  assert.equal(again.code, 1, again.out + again.err);
  assert.match(again.out, /run e2e-detached is still open: attaching a local worker/);
  assert.match(again.out, /run e2e-detached: cancelled/);
  // Without any worker, watch answers from the run record the workflow wrote.
  const w = clgrpo('watch', 'e2e-detached', '--json');
  assert.equal(w.code, 1, w.err);
  assert.equal(JSON.parse(w.out).state, 'cancelled', w.out + w.err);
  // A later resume is a new execution that runs every stage.
  const done = clgrpo('resume', 'e2e-detached', '--json');
  assert.equal(done.code, 0, done.err);
  assert.equal(JSON.parse(done.out).state, 'succeeded');
});
