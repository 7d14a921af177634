// `clgrpo run <spec> [--set k=v]... [--name] [--detach] [--no-worker] [--json]`: compile the spec,
// start the pipeline workflow on Temporal, follow it to the end (see execute.ts).
import { loadAndCompile } from '../plan';
import { defaultRunName, safeName } from '../temporal/pipeline-client';
import { parse, type CommandDef } from './args';
import { context, reportError, type CliDeps } from './common';
import { EXECUTE_FLAGS, execute, executeFlags } from './execute';

export const RUN: CommandDef = {
  name: 'clgrpo run',
  summary: 'Run a pipeline spec on Temporal: starts the embedded dev server (unless TEMPORAL_ADDRESS is set) and a local worker on the plan\'s queues, prints the Web UI link, live per-stage progress and a summary. Exit 0 when every stage succeeded or was reused, 1 when the run failed or was cancelled, 2 on usage/I-O errors.',
  positionals: ['spec'],
  flags: {
    set: { type: 'string', multiple: true, value: 'path=value', description: 'override a spec field (repeatable), e.g. stages.sft.params.epochs=1' },
    name: { type: 'string', value: 'run', description: 'run name = workflow id (default <pipeline>-<spec hash 12>: a spec runs once at a time, a second start is refused while it runs; a finished one runs again under the same name)' },
    ...EXECUTE_FLAGS,
  },
};

export async function run(argv: string[], deps: CliDeps): Promise<number> {
  const a = parse(argv, RUN);
  if (typeof a === 'number') return a;
  const ctx = context();
  let plan;
  try {
    plan = loadAndCompile(a.positionals[0], { set: (a.values.set as string[] | undefined) ?? [] });
  } catch (err) {
    return reportError('run', err);
  }
  const name = a.values.name as string | undefined;
  if (name !== undefined && safeName(name) !== name) {
    console.error(`clgrpo run: --name '${name}' may only hold letters, digits, '.', '_' and '-' (e.g. '${safeName(name)}')`);
    return 2;
  }
  return execute(ctx, deps, plan, { verb: 'run', workflowId: name ?? defaultRunName(plan), ...executeFlags(a.values) });
}
