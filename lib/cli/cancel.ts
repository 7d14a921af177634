// `clgrpo cancel <run> [--wait]`: request cancellation; running stages stop at their next
// heartbeat and keep their checkpoints; the run ends cancelled and can be resumed.
import { parse, type CommandDef } from './args';
import { context, withClient } from './common';

export const CANCEL: CommandDef = {
  name: 'clgrpo cancel',
  summary: 'Cancel a run: running stages stop at their next heartbeat and keep their checkpoints; `clgrpo resume <run>` continues it.',
  positionals: ['run'],
  flags: { wait: { type: 'boolean', description: 'wait until the run has ended' } },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, CANCEL);
  if (typeof a === 'number') return a;
  return withClient('cancel', context(), async (c) => {
    const h = c.client.workflow.getHandle(a.positionals[0]);
    const d = await h.describe();
    if (d.status.name !== 'RUNNING') {
      console.error(`clgrpo cancel: run ${a.positionals[0]} is not running (${d.status.name.toLowerCase()})`);
      return 1;
    }
    await h.cancel();
    console.log(`cancellation requested for ${a.positionals[0]}`);
    if (a.values.wait) {
      await h.result().catch(() => undefined);
      console.log(`run ${a.positionals[0]}: ${(await h.describe()).status.name.toLowerCase()}`);
    }
    return 0;
  });
}
