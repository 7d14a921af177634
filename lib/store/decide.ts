// Store-backed run/reuse/resume decisions for `clgrpo plan` (lib/cli/plan.ts loads createDecider):
// a published artifact for the stage key → reuse; files in the stage's work dir → resume from its
// checkpoint; otherwise run, saying which key component (params, inputs, code) changed since the
// last recorded run of the same pipeline had this stage.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Decision, DecideFn } from '../plan/decide';
import type { PlanStage } from '../plan/types';
import { listRuns } from './runs';
import { ArtifactStore, storeRoot } from './store';

export function decideWith(store: ArtifactStore, pipeline?: string): DecideFn {
  const runs = listRuns(store);
  return (s: PlanStage): Decision => {
    const id = store.lookupKey(s.key);
    if (id) return { action: 'reuse', reason: `artifact ${id.slice(0, 12)} exists`, artifactId: id };
    const work = join(store.root, 'work', s.key);
    if (existsSync(work) && readdirSync(work).length) return { action: 'resume', reason: `checkpoint files in work/${s.key.slice(0, 12)}` };
    return { action: 'run', reason: whyNew(s, runs, pipeline) };
  };
}

function whyNew(s: PlanStage, runs: ReturnType<typeof listRuns>, pipeline?: string): string {
  // Newest first; prefer the same pipeline, else any run with a stage of this id.
  const ordered = [...runs.filter((r) => r.pipeline === pipeline), ...runs.filter((r) => r.pipeline !== pipeline)];
  for (const r of ordered) {
    const prev = r.plan.stages.find((p) => p.id === s.id && p.kind === s.kind);
    if (!prev) continue;
    if (prev.key === s.key) return `same key as run ${r.workflowId}, which did not publish it`;
    const changed = (['params', 'inputs', 'code'] as const).filter((k) => prev.keyParts?.[k] !== s.keyParts[k]);
    return `${changed.length ? changed.join(' + ') : 'key'} changed since run ${r.workflowId}`;
  }
  return 'no artifact for this key yet';
}

/** The decider `clgrpo plan` uses: the store at CLGRPO_HOME, read once. */
export function createDecider(env: Readonly<Record<string, string | undefined>> = process.env): DecideFn {
  return decideWith(new ArtifactStore(storeRoot(env)));
}
