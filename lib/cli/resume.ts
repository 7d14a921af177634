// `clgrpo resume <run>`: a new execution of the plan stored in the run record, under the same run
// name. Finished stages are reused by stage key; the unfinished one resumes from the checkpoint in
// its work dir (keyed by stage key, so it survives across executions).
import { parse, type CommandDef } from './args';
import { context, type CliDeps } from './common';
import { EXECUTE_FLAGS, execute, executeFlags } from './execute';
import { readRun } from '../store';

export const RESUME: CommandDef = {
  name: 'clgrpo resume',
  summary: 'Start the stored plan of a run again under the same name: finished stages are reused, an interrupted one continues from its last checkpoint. Refused while the run is still running.',
  positionals: ['run'],
  flags: EXECUTE_FLAGS,
};

export async function run(argv: string[], deps: CliDeps): Promise<number> {
  const a = parse(argv, RESUME);
  if (typeof a === 'number') return a;
  const ctx = context();
  const rec = readRun(ctx.store, a.positionals[0]);
  if (!rec) {
    console.error(`clgrpo resume: no run record '${a.positionals[0]}' in ${ctx.home}/runs (see 'clgrpo runs')`);
    return 2;
  }
  return execute(ctx, deps, rec.plan, { verb: 'resume', workflowId: rec.workflowId, ...executeFlags(a.values) });
}
