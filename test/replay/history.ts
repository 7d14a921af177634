// Loads a history in Temporal's JSON form. historyFromJSON from @temporalio/common can fail with
// "type must be a Type" when npm installs two copies of protobufjs (common's and proto's): the
// fallback parses with the protobufjs copy that @temporalio/proto itself was built with.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findLocalTemporalBinary } from '../../lib/temporal/binary';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

export function loadHistory(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    const protoDir = dirname(require.resolve('@temporalio/proto'));
    const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as { fromJson(t: unknown, j: unknown, o: unknown): History };
    const proto = require('@temporalio/proto') as Record<string, unknown>;
    const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot(r: unknown): { lookupType(n: string): unknown } };
    return protojson.fromJson(patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History'), json, { ignoreUnknownFields: true });
  }
}

/**
 * Writes a recorded history (`temporal workflow show --output json`, the form the Web UI downloads)
 * as histories/<name>.json; `runId` picks one execution of a chain (e.g. the first, before a
 * continue-as-new). Used by record.ts and record-patched.ts.
 */
export function saveHistory(address: string, workflowId: string, name: string, runId?: string): void {
  const bin = findLocalTemporalBinary();
  if (!bin) throw new Error('no temporal CLI found');
  const r = spawnSync(bin.path, ['workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--address', address, '--output', 'json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`temporal workflow show failed: ${r.stderr}`);
  const history = JSON.parse(r.stdout) as { events: unknown[] };
  writeFileSync(join(__dirname, 'histories', `${name}.json`), `${JSON.stringify(history, null, 1)}\n`);
  console.log(`wrote ${name}.json (${history.events.length} events)`);
}
