// Loads a history in Temporal's JSON form. historyFromJSON from @temporalio/common can fail with
// "type must be a Type" when npm installs two copies of protobufjs (common's and proto's): the
// fallback parses with the protobufjs copy that @temporalio/proto itself was built with.
import { dirname } from 'node:path';
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
