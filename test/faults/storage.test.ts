// Storage faults (FAULTS 14, 22, 24) on the real stage code and the real store:
// - a training stage whose newest checkpoint has a flipped byte or a truncated file resumes from the
//   previous intact one and still ends bit-identical; with none intact it fails non-retryably
//   (CheckpointCorruptError, naming the file), also once turned into a Temporal failure;
// - a full disk (a small tmpfs mounted by the test; skipped with a message where mounting is not
//   permitted) while checkpointing or publishing: a StorageFull error, the last good checkpoint still
//   loads, no half artifact and no temp file;
// - stale heartbeat details (a step beyond what is on disk): the checkpoint on disk wins (FAULTS 15);
// - a tampered artifact: verify names the changed file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPretrainStage } from '../../activities/pretrain';
import { toApplicationFailure } from '../../activities/failures';
import { ClgrpoError, ErrorType } from '../../lib/errors';
import { CheckpointStore } from '../../lib/ml/checkpoint';
import { ArtifactStore, type ManifestDraft } from '../../lib/store';
import { makeStageContext, type HarnessContext } from '../helpers/stage-harness';
import { datasetInput, harnessContext, stageRef, tempStore, TINY_PRETRAIN } from '../activities/pretrain-fixtures';

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const roots: string[] = [];
after(() => { for (const r of roots) fs.rmSync(r, { recursive: true, force: true }); });

async function pretrain(h: HarnessContext): Promise<{ logs: string[]; firstStep?: number }> {
  const { ctx, logs, heartbeats } = makeStageContext(h);
  await runPretrainStage(ctx);
  return { logs, firstStep: heartbeats.find((b) => b.phase === undefined)?.step };
}

/** A finished pretrain run (checkpoints 8 and 12 kept) and a copy of its work dir to damage. */
async function finishedRun(): Promise<{ root: string; whole: HarnessContext; again: (name: string) => HarnessContext }> {
  const root = tempStore();
  roots.push(root);
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', TINY_PRETRAIN);
  const whole = harnessContext(root, stage, [ds], 'whole');
  await pretrain(whole);
  const again = (name: string): HarnessContext => {
    const h = harnessContext(root, stage, [ds], name);
    fs.cpSync(path.join(whole.workDir, 'checkpoints'), path.join(h.workDir, 'checkpoints'), { recursive: true });
    return h;
  };
  return { root, whole, again };
}

test('corrupt newest checkpoint (flipped byte, then truncated): resume from the previous one, bit-identical end; none left: CheckpointCorruptError naming the file', async () => {
  const { whole, again } = await finishedRun();
  const ck = (h: HarnessContext, step: number) => path.join(h.workDir, 'checkpoints', `step-${String(step).padStart(8, '0')}`);
  const weights = (h: HarnessContext) => sha(path.join(h.outDir, 'model.safetensors'));

  const flipped = again('flipped');
  const f = path.join(ck(flipped, 12), 'model.safetensors');
  const b = fs.readFileSync(f);
  b[b.length >> 1] ^= 0x40;
  fs.writeFileSync(f, b);
  const r1 = await pretrain(flipped);
  assert.ok(r1.logs.some((l) => /skipping corrupt checkpoint step-00000012: model\.safetensors does not match its hash/.test(l)), r1.logs.join('\n'));
  assert.ok(r1.logs.some((l) => /resuming pretrain from checkpoint step-00000008/.test(l)));
  assert.equal(r1.firstStep, 9, 'resumed after step 8, not from 0');
  assert.equal(weights(flipped), weights(whole));

  const truncated = again('truncated');
  const files = fs.readdirSync(ck(truncated, 12)).filter((n) => n !== 'manifest.json');
  fs.truncateSync(path.join(ck(truncated, 12), files[0]), 7);
  const r2 = await pretrain(truncated);
  assert.ok(r2.logs.some((l) => /resuming pretrain from checkpoint step-00000008/.test(l)), r2.logs.join('\n'));
  assert.equal(weights(truncated), weights(whole));

  const ruined = again('ruined');
  fs.truncateSync(path.join(ck(ruined, 12), 'model.safetensors'), 0);
  fs.appendFileSync(path.join(ck(ruined, 8), 'model.safetensors'), 'x');
  await assert.rejects(pretrain(ruined), (e: unknown) => {
    assert.ok(e instanceof ClgrpoError && e.type === ErrorType.CheckpointCorrupt, String(e));
    assert.ok(e.nonRetryable);
    assert.match(e.message, /step-00000012: model\.safetensors does not match/);
    assert.match(e.message, /step-00000008: model\.safetensors does not match/);
    const failure = toApplicationFailure(e, {}, 'stage pretrain');
    assert.equal(failure.type, ErrorType.CheckpointCorrupt);
    assert.equal(failure.nonRetryable, true, 'Temporal does not retry it');
    return true;
  });
  assert.ok(!fs.existsSync(path.join(ruined.outDir, 'model.safetensors')), 'nothing written for publishing');
});

test('stale heartbeat details (says step 12, disk has 8): the verified checkpoint on disk wins', async () => {
  const { whole, again } = await finishedRun();
  const stale = again('stale');
  const dir = path.join(stale.workDir, 'checkpoints');
  fs.rmSync(path.join(dir, 'step-00000012'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'LATEST'), 'step-00000008');
  const r = await pretrain({ ...stale, attempt: 2, previousProgress: { step: 12, total: 12, checkpoint: 'checkpoints/step-00000012' } });
  assert.ok(r.logs.some((l) => /resuming pretrain from checkpoint step-00000008.*"hintStep":12/.test(l)), r.logs.join('\n'));
  assert.equal(r.firstStep, 9);
  assert.equal(sha(path.join(stale.outDir, 'model.safetensors')), sha(path.join(whole.outDir, 'model.safetensors')));
});

/** Mounts a tmpfs of `size` at a fresh dir; undefined (with the reason) where mounting is not allowed. */
function mountTmpfs(size: string): { dir: string; umount(): void } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'tmpfs mounts need Linux' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    return { skip: `cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]}); run as root to test a full disk` };
  }
  return { dir, umount: () => { execFileSync('umount', [dir]); fs.rmdirSync(dir); } };
}

/** Fills the filesystem of `dir` until ENOSPC; returns the filler file. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    const chunk = Buffer.alloc(16 * 1024, 1);
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

test('disk full while checkpointing: StorageFull, the last good checkpoint still loads, no temp left; space freed: saving works again', (t) => {
  const m = mountTmpfs('2m');
  if ('skip' in m) return t.skip(m.skip);
  try {
    const store = new CheckpointStore(path.join(m.dir, 'checkpoints'), 2);
    const files = (seed: number) => new Map([['model.bin', randomBytes(64 * 1024)], ['state.json', Buffer.from(JSON.stringify({ seed }))]]);
    const first = files(1);
    store.save(10, first);
    const filler = fill(m.dir);
    assert.throws(() => store.save(20, files(2)), (e: unknown) => {
      assert.ok(e instanceof ClgrpoError && e.type === ErrorType.StorageFull, String(e));
      assert.ok(!e.nonRetryable, 'retried: space may be freed');
      assert.match(e.message, /disk full while writing checkpoint step-00000020/);
      return true;
    });
    const c = store.loadLatest();
    assert.equal(c?.step, 10);
    assert.ok(c?.files.get('model.bin')?.equals(first.get('model.bin') as Buffer));
    assert.deepEqual(fs.readdirSync(store.dir).sort(), ['LATEST', 'step-00000010'], 'no temp dir, no half checkpoint');
    fs.rmSync(filler);
    store.save(20, files(2));
    assert.equal(store.loadLatest()?.step, 20);
  } finally {
    m.umount();
  }
});

const DRAFT = (stageKey: string): ManifestDraft => ({
  kind: 'model',
  producer: { runId: 'r', workflowId: 'w', pipeline: 'p', stageId: 'base', stageKind: 'pretrain', stageKey, attempt: 1, workerIdentity: 'w@h' },
  inputs: [], specHash: 'c'.repeat(64), params: {}, seed: 1,
  codeVersion: { package: 'clgrpo-flow', version: '0.1.0', commit: 'x', dirty: false },
  metrics: {}, lineage: {}, createdAt: '2026-01-01T00:00:00.000Z',
});

test('disk full while publishing: a StorageFull failure, no half artifact, no index entry', (t) => {
  const m = mountTmpfs('1m');
  if ('skip' in m) return t.skip(m.skip);
  try {
    const store = new ArtifactStore(m.dir);
    const dir = store.createStaging('base');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), randomBytes(200 * 1024));
    fill(m.dir);
    let caught: unknown;
    try {
      store.publish(dir, DRAFT('d'.repeat(64)));
    } catch (e) {
      caught = e;
    }
    assert.ok(caught, 'publish on a full disk must fail');
    const failure = toApplicationFailure(caught, {}, "stage 'base' (pretrain, attempt 1)");
    assert.equal(failure.type, ErrorType.StorageFull, `${(caught as Error).message}`);
    assert.match(failure.message, /disk is full/);
    assert.deepEqual(store.listArtifacts(), [], 'no half artifact');
    assert.deepEqual(fs.readdirSync(path.join(m.dir, 'index', 'stage-keys')), [], 'no index entry');
  } finally {
    m.umount();
  }
});

test('tampered artifact: verify names the file whose hash changed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-tamper-'));
  roots.push(root);
  const store = new ArtifactStore(root);
  const dir = store.createStaging('base');
  fs.writeFileSync(path.join(dir, 'model.safetensors'), randomBytes(4096));
  fs.writeFileSync(path.join(dir, 'config.json'), '{"size":"tiny"}');
  const { id } = store.publish(dir, DRAFT('e'.repeat(64)));
  assert.ok(store.verify(id).ok);
  const f = path.join(store.artifactDir(id), 'model.safetensors');
  fs.chmodSync(f, 0o644);
  const b = fs.readFileSync(f);
  b[100] ^= 1;
  fs.writeFileSync(f, b);
  const v = store.verify(id);
  assert.equal(v.ok, false);
  assert.deepEqual(v.changed, ['model.safetensors']);
  assert.deepEqual(v.missing, []);
});
