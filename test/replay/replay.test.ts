// Replays the committed interpreter histories (record.ts and record-patched.ts re-record them) against today's workflow
// code: any change to the commands the interpreter issues without patched() fails here. A history
// altered on purpose (one activity type swapped) must fail with a determinism error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadHistory } from './history';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { installRuntime } from '../../lib/temporal/connection';
import { workflowBundle } from '../../lib/temporal/workers';

const DIR = join(__dirname, 'histories');

function load(name: string): { events: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as { events: Record<string, unknown>[] };
}

test('every recorded history replays without a determinism error', async () => {
  installRuntime('ERROR');
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  // data.json, data-local.json, drain-fail.json and local.json come from record-patched.ts (the patched() steps), the rest from record.ts.
  assert.deepEqual(files, ['cancel.json', 'dag.json', 'data-local.json', 'data.json', 'drain-fail.json', 'fail.json', 'local.json', 'reuse.json']);
  const histories = files.map((f) => ({ workflowId: f.replace('.json', ''), history: loadHistory(load(f)) }));
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) results.push(r);
  assert.equal(results.length, files.length);
  for (const r of results) assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
});

test('local.json took the local-store-activities path; the older histories ask the store through activity tasks', () => {
  const types = (name: string): string[] => load(name).events
    .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
    .map((e) => (e.activityTaskScheduledEventAttributes as { activityType: { name: string } }).activityType.name);
  const local = (name: string): string[] => load(name).events
    .filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED' && (e.markerRecordedEventAttributes as { markerName: string }).markerName === 'core_local_activity')
    .map((e) => {
      const data = (e.markerRecordedEventAttributes as { details: { data: { payloads: { data: string }[] } } }).details.data.payloads[0].data;
      return (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { activity_type: string }).activity_type;
    });
  // a and b are reused through the one lookup at the start, only c runs, and the run record is local too.
  assert.deepEqual(types('local.json'), ['runDatasetStage']);
  assert.deepEqual(local('local.json'), ['lookupStageArtifacts', 'recordRunResult']);
  // Keys that follow a data fingerprint are looked up per stage, locally, after the fingerprint.
  assert.deepEqual(types('data-local.json'), ['fingerprintStageData', 'runDatasetStage', 'runPretrainStage']);
  assert.deepEqual(local('data-local.json'), ['lookupStageArtifacts', 'lookupStageArtifact', 'lookupStageArtifact', 'recordRunResult']);
  for (const old of ['reuse.json', 'data.json']) {
    assert.ok(types(old).includes('lookupStageArtifact'), old);
    assert.deepEqual(local(old), [], old);
  }
});

test('a history whose scheduled activity differs from what the code does fails with a determinism error', async () => {
  installRuntime('ERROR');
  const h = load('dag.json');
  const scheduled = h.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  const attrs = scheduled[1].activityTaskScheduledEventAttributes as { activityType: { name: string } };
  assert.equal(attrs.activityType.name, 'runDatasetStage');
  attrs.activityType.name = 'runSftStage';
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, loadHistory(h), 'dag-altered'),
    (err: unknown) => err instanceof DeterminismViolationError,
  );
});
