// A real process kill mid-training: the pretrain stage runs in a child process, gets SIGKILL after
// a checkpoint, is rerun on the same work dir, and must end with the same weights, bit for bit, as an
// uninterrupted run (wasm backend, same seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { runStageInChild } from '../helpers/stage-harness';
import { datasetInput, harnessContext, stageRef, tempStore, TINY_PRETRAIN } from './pretrain-fixtures';

const MODULE = path.resolve(__dirname, '../../activities/pretrain.ts');
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('SIGKILL mid-pretrain, rerun resumes from the checkpoint and ends bit-identical', async () => {
  const root = tempStore();
  const ds = datasetInput(root);
  const stage = stageRef('pretrain', TINY_PRETRAIN);

  const whole = harnessContext(root, stage, [ds], 'whole');
  const a = await runStageInChild(MODULE, 'runPretrainStage', whole);
  assert.equal(a.code, 0, JSON.stringify(a.error));
  assert.equal(a.heartbeats.filter((h) => h.phase === undefined).length, 12);

  const killed = harnessContext(root, stage, [ds], 'killed');
  const b1 = await runStageInChild(MODULE, 'runPretrainStage', killed, { killWhen: (hb) => hb.step >= 5 && !!hb.checkpoint });
  assert.equal(b1.signal, 'SIGKILL');
  assert.ok(!b1.result, 'the killed run must not finish');
  assert.ok(!fs.existsSync(path.join(killed.outDir, 'model.safetensors')));
  const lastSeen = b1.heartbeats.at(-1)!.step;
  assert.ok(lastSeen < 12, `killed after step ${lastSeen}`);

  const b2 = await runStageInChild(MODULE, 'runPretrainStage', { ...killed, attempt: 2, previousProgress: b1.heartbeats.at(-1) });
  assert.equal(b2.code, 0, JSON.stringify(b2.error));
  const firstStep = b2.heartbeats[0].step;
  assert.ok(firstStep > 4, `resumed run started at step ${firstStep}, expected after checkpoint 4`);
  assert.ok(b2.logs.some((l) => /resuming pretrain from checkpoint step-0000000[48]/.test(l)), b2.logs.join('\n'));
  assert.equal(b2.result!.lineage!.resumedFromStep, firstStep - 1);

  assert.equal(sha(path.join(killed.outDir, 'model.safetensors')), sha(path.join(whole.outDir, 'model.safetensors')));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(killed.outDir, 'training.json'), 'utf8')).curves.loss,
    JSON.parse(fs.readFileSync(path.join(whole.outDir, 'training.json'), 'utf8')).curves.loss);
  fs.rmSync(root, { recursive: true, force: true });
});
