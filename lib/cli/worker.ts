// `clgrpo worker [--queues cpu,gpu] [--concurrency N] [--no-workflows]`: a long-running worker on
// this machine against TEMPORAL_ADDRESS (or the embedded server) and the store at CLGRPO_HOME.
import { defaultStageConcurrency } from '../stage/isolation';
import { consoleLog, describeBackend, shutdownOnSignals } from '../temporal/worker-process';
import { parse, type CommandDef } from './args';
import { connect, context, type CliDeps } from './common';

export const WORKER: CommandDef = {
  name: 'clgrpo worker',
  summary: 'Poll the pipeline workflow queue and the given stage task queues until SIGINT/SIGTERM (running stages get time to checkpoint). Uses TEMPORAL_ADDRESS when set, else the embedded dev server (started if needed), and the store at CLGRPO_HOME.',
  positionals: [],
  flags: {
    queues: { type: 'string', value: 'a,b', description: 'stage task queues to serve (default cpu,gpu)' },
    concurrency: { type: 'string', value: 'N', description: 'stage activities run at once per queue (default: number of cores, each stage in its own thread; 1 with CLGRPO_STAGE_ISOLATION=inline)' },
    'no-workflows': { type: 'boolean', description: 'do not poll the pipeline workflow queue (activity-only worker)' },
    'grace-seconds': { type: 'string', value: 's', description: 'time running stages get to checkpoint on shutdown (default 30)' },
  },
};

export async function run(argv: string[], deps: CliDeps): Promise<number> {
  const a = parse(argv, WORKER);
  if (typeof a === 'number') return a;
  const queues = String(a.values.queues ?? 'cpu,gpu').split(',').map((q) => q.trim()).filter(Boolean);
  const ctx = context();
  const concurrency = a.values.concurrency === undefined ? defaultStageConcurrency(ctx.env) : Number(a.values.concurrency);
  if (!queues.length || !Number.isInteger(concurrency) || concurrency < 1) {
    console.error('clgrpo worker: --queues needs at least one name and --concurrency a positive integer');
    return 2;
  }
  const log = consoleLog('[worker]');
  const c = await connect(ctx, true);
  if (!c) return 2;
  await c.connection.close();
  log.info(await describeBackend(ctx.env));
  const w = await deps.startWorker({
    endpoint: c.endpoint, env: ctx.env, queues, concurrency, log, workflowQueue: a.values['no-workflows'] ? null : undefined,
    shutdownGraceMs: Number(a.values['grace-seconds'] ?? 30) * 1000,
    // a long-lived worker serving many runs keeps workflow work off its main event loop
    workflowThread: 'thread',
  });
  shutdownOnSignals(w, log);
  await w.done;
  log.info('stopped');
  return 0;
}
