// `clgrpo runs [--json]`: the runs recorded in the store, newest first.
import { listRuns } from '../store';
import { parse, type CommandDef } from './args';
import { context } from './common';

export const RUNS: CommandDef = {
  name: 'clgrpo runs',
  summary: 'List the runs recorded in the store (CLGRPO_HOME), newest first.',
  positionals: [],
  flags: { json: { type: 'boolean', description: 'print the records (without plans) as JSON' } },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, RUNS);
  if (typeof a === 'number') return a;
  const runs = listRuns(context().store);
  if (a.values.json) {
    console.log(JSON.stringify(runs.map(({ plan: _p, ...r }) => r), null, 2));
    return 0;
  }
  if (!runs.length) {
    console.log('no runs yet (start one with clgrpo run <spec>)');
    return 0;
  }
  const rows = runs.map((r) => {
    const states = Object.values(r.stages);
    const done = states.filter((s) => s.state === 'succeeded' || s.state === 'reused').length;
    return [r.workflowId, r.pipeline, r.status, `${done}/${r.plan.stages.length}`, String(r.executions.length), r.createdAt.replace('T', ' ').slice(0, 19)];
  });
  const head = ['run', 'pipeline', 'status', 'done', 'executions', 'created (UTC)'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows]) console.log(r.map((v, c) => v.padEnd(w[c])).join('  ').trimEnd());
  return 0;
}
