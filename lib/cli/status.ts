// `clgrpo status <run> [--json]`: every stage's state, attempt, progress and artifact. Asks Temporal
// when it is reachable (live heartbeats included); otherwise prints the run record from the store.
import { readRun, type RunRecord } from '../store';
import { liveStatus, type LiveStatus } from '../temporal/pipeline-client';
import { parse, type CommandDef } from './args';
import { connect, context } from './common';
import { stageLine, summaryTable } from './progress';

export const STATUS: CommandDef = {
  name: 'clgrpo status',
  summary: 'Show the stages of a run: state, attempt, progress, artifact. Exit 0 when the run succeeded or is running, 1 when it failed or was cancelled, 2 when unknown.',
  positionals: ['run'],
  flags: { json: { type: 'boolean', description: 'print the status as JSON' } },
};

/** A LiveStatus rebuilt from the run record (no server needed). */
export function fromRecord(rec: RunRecord): LiveStatus {
  const exec = rec.executions.at(-1);
  return {
    workflowId: rec.workflowId, runId: exec?.runId ?? '', execution: rec.status === 'running' ? 'UNKNOWN' : rec.status.toUpperCase(),
    pipeline: rec.pipeline, specHash: rec.specHash, maxParallel: rec.plan.maxParallel,
    state: rec.status === 'succeeded' || rec.status === 'failed' || rec.status === 'cancelled' ? rec.status : 'running',
    stages: rec.plan.stages.map((s) => {
      const r = rec.stages[s.id];
      return {
        id: s.id, kind: s.kind, queue: s.queue, state: r?.state ?? 'pending', attempt: r?.attempt, artifactId: r?.artifactId, reused: r?.reused,
        error: r?.error, summary: r?.summary, startedAt: r?.startedAt ? Date.parse(r.startedAt) : undefined, endedAt: r?.endedAt ? Date.parse(r.endedAt) : undefined,
      };
    }),
  };
}

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, STATUS);
  if (typeof a === 'number') return a;
  const ctx = context();
  const id = a.positionals[0];
  let st: LiveStatus | undefined;
  let source = 'temporal';
  const c = await connect(ctx, false).catch(() => undefined);
  if (c) {
    try {
      st = await liveStatus(c.client.workflow.getHandle(id), 5000);
    } catch (err) {
      source = `run record (Temporal: ${(err as Error).message.split('\n')[0]})`;
    } finally {
      await c.connection.close();
    }
  } else source = 'run record (no Temporal server running)';
  if (!st) {
    const rec = readRun(ctx.store, id);
    if (!rec) {
      console.error(`clgrpo status: no run '${id}' (${source}; see 'clgrpo runs')`);
      return 2;
    }
    st = fromRecord(rec);
  }
  if (a.values.json) console.log(JSON.stringify({ ...st, source }, null, 2));
  else {
    console.log(`run ${id}: ${st.state} (${st.execution.toLowerCase()}), pipeline ${st.pipeline}, from ${source}`);
    const now = Date.now();
    if (st.execution === 'RUNNING') for (const s of st.stages) console.log(stageLine(s, now));
    else console.log(summaryTable(st));
  }
  return st.state === 'failed' || st.state === 'cancelled' ? 1 : 0;
}
