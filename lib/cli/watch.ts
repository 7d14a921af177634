// `clgrpo watch <run>`: follow a run started elsewhere (or detached) until it ends.
import { parse, type CommandDef } from './args';
import { context, withClient } from './common';
import { finish, recordStatus } from './execute';
import { follow } from './follow';

export const WATCH: CommandDef = {
  name: 'clgrpo watch',
  summary: 'Follow a running run live until it ends, then print its summary. Exit as `run` does.',
  positionals: ['run'],
  flags: { json: { type: 'boolean', description: 'print only the final status, as JSON' } },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, WATCH);
  if (typeof a === 'number') return a;
  const ctx = context();
  return withClient('watch', ctx, async (c) => {
    const final = await follow(c.client.workflow.getHandle(a.positionals[0]), { quiet: Boolean(a.values.json), fallback: () => recordStatus(ctx, a.positionals[0]) });
    return finish(ctx, final, { json: Boolean(a.values.json), workflowId: a.positionals[0] });
  });
}
