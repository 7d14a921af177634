// `clgrpo resume <run>`: a new execution of the plan stored in the run record, under the same run
// name. Finished stages are reused by stage key; the unfinished one resumes from the checkpoint in
// its work dir (keyed by stage key, so it survives across executions).
import type { CommandDef } from './args';
import { context, parse } from './common';
import { execute } from './execute';
import { readRun } from '../store';

export const RESUME: CommandDef = {
  name: 'clgrpo resume',
  summary: 'Start the stored plan of a run again under the same name: finished stages are reused, an interrupted one continues from its last checkpoint. Refused while the run is still running.',
  positionals: ['run'],
  flags: {
    detach: { type: 'boolean', description: 'start and return; workers elsewhere do the work' },
    'no-worker': { type: 'boolean', description: 'do not start a local worker' },
    concurrency: { type: 'string', value: 'N', description: 'stages the local worker runs at once per queue (default 1)' },
    json: { type: 'boolean', description: 'print the final status as JSON' },
  },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, RESUME);
  if (typeof a === 'number') return a;
  const ctx = context();
  const rec = readRun(ctx.store, a.positionals[0]);
  if (!rec) {
    console.error(`clgrpo resume: no run record '${a.positionals[0]}' in ${ctx.home}/runs (see 'clgrpo runs')`);
    return 2;
  }
  return execute(ctx, rec.plan, {
    verb: 'resume', workflowId: rec.workflowId, detach: Boolean(a.values.detach), noWorker: Boolean(a.values['no-worker']),
    json: Boolean(a.values.json), concurrency: a.values.concurrency ? Number(a.values.concurrency) : undefined,
  });
}
