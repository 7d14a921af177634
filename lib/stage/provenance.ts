// What a stage attempt checks and records about where its result comes from, beyond inputs and
// params: the worker's code identity for the kind (it must equal the one the plan's key was made
// with, or the artifact would be filed under a key that names other code) and, for data-reading
// stages, that the data still has the fingerprint the key was made with once the stage has read it.
import type { JsonObject } from '../canonical';
import { ClgrpoError, ErrorType } from '../errors';
import { identityOf, projectGraph, type CodeIdentity } from '../code/identity';
import { describeCodeChange, saveCodeIdentity } from '../code/snapshots';
import type { DataFingerprint } from '../plan/effective-key';

/** This worker's code identity for a kind, checked against the plan's; kept in the store. */
export function checkCodeIdentity(home: string, kind: string, planned: string | undefined): CodeIdentity {
  const graph = projectGraph();
  const id = identityOf(graph, kind);
  graph.save();
  saveCodeIdentity(home, id);
  if (planned !== undefined && planned !== id.hash) {
    throw new ClgrpoError(ErrorType.Config,
      `this worker's code for stage kind '${kind}' is not the code the plan was compiled with (identity ${id.hash.slice(0, 12)}, plan ${planned.slice(0, 12)}; differs in ${describeCodeChange(home, planned, id)}): ` +
      'its artifact would be filed under a key that names other code. Run the client and the workers on the same checkout (pull and restart the worker, or re-run from the worker\'s checkout)',
      { details: { kind, worker: id.hash, plan: planned } });
  }
  return id;
}

/** The lineage record of a stage's code and data. */
export function provenanceLineage(code: CodeIdentity, planKey: string | undefined, data: DataFingerprint | undefined): JsonObject {
  return {
    codeIdentity: { hash: code.hash, entry: code.entry, files: Object.keys(code.files).length, packages: code.packages, normaliser: code.normaliser },
    ...(data ? { data: { fingerprint: data.fingerprint, files: data.files, bytes: data.bytes } } : {}),
    ...(planKey ? { planKey } : {}),
  };
}

/** A data stage's data must still be what was fingerprinted when its key was decided. */
export function checkDataUnchanged(stageId: string, before: DataFingerprint, after: DataFingerprint): void {
  if (before.fingerprint === after.fingerprint) return;
  throw new ClgrpoError(ErrorType.Config,
    `stage '${stageId}': its data changed while it was being read (fingerprint ${before.fingerprint.slice(0, 12)} of ${before.files} files before, ${after.fingerprint.slice(0, 12)} of ${after.files} after); nothing was published. Leave the data alone during an import and run again`,
    { details: { before: before.fingerprint, after: after.fingerprint } });
}
