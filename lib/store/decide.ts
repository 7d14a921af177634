// Store-backed run/reuse/resume decisions for `clgrpo plan` (lib/cli/plan.ts loads createDecider):
// data-reading stages are fingerprinted here first (the same files and stat cache a local worker
// uses) and every stage is decided under its effective key; a published artifact for that key →
// reuse; files in the stage's work dir → resume from its checkpoint; otherwise run, saying what
// changed since the last recorded run of the same pipeline had this stage: params, inputs, code
// (naming the changed files) or data (counting the changed files).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { codeIdentities, type CodeIdentity } from '../code/identity';
import { describeCodeChange, saveCodeIdentity } from '../code/snapshots';
import type { Decision, DecideFn } from '../plan/decide';
import { effectiveKeys, type DataFingerprint } from '../plan/effective-key';
import { STAGE_KINDS, type Plan, type PlanStage, type StageKind } from '../plan/types';
import { changedFileCount, fingerprintStageReads } from './fingerprint';
import { listRuns, type RunRecord } from './runs';
import { ArtifactStore, storeRoot } from './store';

type Env = Readonly<Record<string, string | undefined>>;

interface Ctx {
  store: ArtifactStore;
  runs: RunRecord[];
  pipeline?: string;
  env: Env;
  code: Record<StageKind, CodeIdentity>;
  /** Stages decided so far, in plan order (ancestors come first). */
  seen: PlanStage[];
  fps: Record<string, string>;
  data: Map<string, DataFingerprint>;
}

function fingerprintHere(c: Ctx, s: PlanStage): DataFingerprint | string {
  try {
    return fingerprintStageReads(c.store.root, c.env, s.kind, s.params);
  } catch (e) {
    return (e as Error).message.split('\n')[0].slice(0, 160);
  }
}

export function decideWith(store: ArtifactStore, pipeline?: string, env: Env = process.env): DecideFn {
  const code = codeIdentities(STAGE_KINDS);
  for (const id of Object.values(code)) saveCodeIdentity(store.root, id);
  const c: Ctx = { store, runs: listRuns(store), pipeline, env, code, seen: [], fps: {}, data: new Map() };
  return (s: PlanStage): Decision => {
    c.seen.push(s);
    let unreadable: string | undefined;
    if (s.readsData) {
      const fp = fingerprintHere(c, s);
      if (typeof fp === 'string') unreadable = fp;
      else {
        c.fps[s.id] = fp.fingerprint;
        c.data.set(s.id, fp);
      }
    }
    const key = effectiveKeys({ stages: c.seen } as Plan, c.fps).get(s.id);
    if (key === undefined) {
      return { action: 'run', reason: unreadable ? `data not readable here (${unreadable}); the worker fingerprints it` : 'data upstream not readable here; decided on the worker' };
    }
    const id = store.lookupKey(key);
    if (id) return { action: 'reuse', reason: `artifact ${id.slice(0, 12)} exists`, artifactId: id, key };
    const work = join(store.root, 'work', key);
    if (existsSync(work) && readdirSync(work).length) return { action: 'resume', reason: `checkpoint files in work/${key.slice(0, 12)}`, key };
    return { action: 'run', reason: whyNew(c, s, key), key };
  };
}

function whyNew(c: Ctx, s: PlanStage, key: string): string {
  // Newest first; prefer the same pipeline, else any run with a stage of this id.
  const ordered = [...c.runs.filter((r) => r.pipeline === c.pipeline), ...c.runs.filter((r) => r.pipeline !== c.pipeline)];
  for (const r of ordered) {
    const prev = r.plan.stages.find((p) => p.id === s.id && p.kind === s.kind);
    if (!prev) continue;
    const rec = r.stages[s.id];
    const prevKey = rec?.key ?? prev.key;
    if (prevKey === key) return `same key as run ${r.workflowId}, which did not publish it`;
    // "code changed (lib/ml/model.ts), data changed (1 file) since run r": each part names what moved.
    const parts: string[] = [];
    if (prev.keyParts?.params !== s.keyParts.params) parts.push('params changed');
    if (prev.keyParts?.inputs !== s.keyParts.inputs) parts.push('inputs changed');
    if (prev.keyParts?.code !== s.keyParts.code) parts.push(`code changed (${describeCodeChange(c.store.root, prev.keyParts?.code ?? '', c.code[s.kind])})`);
    const now = c.data.get(s.id);
    if (now && rec?.data && rec.data.fingerprint !== now.fingerprint) {
      const n = changedFileCount(c.store.root, rec.data.fingerprint, now.fingerprint);
      parts.push(n === undefined ? 'data changed' : `data changed (${n} file${n === 1 ? '' : 's'})`);
    }
    if (!parts.length && prev.key === s.key) parts.push('data upstream changed');
    return `${parts.length ? parts.join(', ') : 'key changed'} since run ${r.workflowId}`;
  }
  return 'no artifact for this key yet';
}

/** The decider `clgrpo plan` uses: the store at CLGRPO_HOME, read once. */
export function createDecider(env: Env = process.env): DecideFn {
  return decideWith(new ArtifactStore(storeRoot(env)), undefined, env);
}
