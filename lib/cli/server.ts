// `clgrpo server start|stop|status`: the embedded Temporal dev server for this CLGRPO_HOME.
import { findLocalTemporalBinary } from '../temporal/binary';
import { checkServer, startServer, stopServer, tcpOpen } from '../temporal/dev-server';
import { parse, type CommandDef } from './args';
import { context } from './common';

export const SERVER: CommandDef = {
  name: 'clgrpo server',
  summary: 'start | stop | status the embedded Temporal dev server (SQLite at $CLGRPO_HOME/temporal.db, Web UI on port+1000). Not used when TEMPORAL_ADDRESS is set.',
  positionals: ['start|stop|status'],
  flags: {
    port: { type: 'string', value: 'p', description: 'gRPC port (default 7233 or CLGRPO_TEMPORAL_PORT, a free one if taken)' },
    headless: { type: 'boolean', description: 'no Web UI' },
    json: { type: 'boolean', description: 'print the server info as JSON' },
  },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, SERVER);
  if (typeof a === 'number') return a;
  const ctx = context();
  const action = a.positionals[0];
  const show = (info: object, line: string): void => console.log(a.values.json ? JSON.stringify(info, null, 2) : line);
  if (ctx.env.TEMPORAL_ADDRESS) console.error(`note: TEMPORAL_ADDRESS=${ctx.env.TEMPORAL_ADDRESS} is set, so runs and workers use that cluster, not this server`);
  switch (action) {
    case 'start': {
      const info = await startServer({
        home: ctx.home, port: a.values.port ? Number(a.values.port) : undefined, headless: Boolean(a.values.headless), env: ctx.env, log: (m) => console.error(m),
      });
      show(info, `${info.reused ? 'already running' : 'started'}: Temporal dev server at ${info.address} (pid ${info.pid})\n` +
        `  Web UI:  ${info.uiUrl || '(headless)'}\n  db:      ${info.db}\n  binary:  ${info.binary} (from ${info.source})`);
      return 0;
    }
    case 'stop': {
      // Signals only a process identified as this home's server; a reused pid is left alone.
      const was = await stopServer(ctx.home, undefined, undefined, (m) => console.error(m));
      console.log(was ? 'stopped the Temporal dev server' : `no Temporal dev server running for ${ctx.home}`);
      return 0;
    }
    case 'status': {
      const check = checkServer(ctx.home);
      if (check.kind !== 'ours') {
        const bin = (() => { try { return findLocalTemporalBinary(ctx.env); } catch (e) { return (e as Error).message; } })();
        const stale = check.kind === 'stale' ? check.reason : undefined;
        show({ running: false, binary: bin, ...(stale ? { staleState: stale } : {}) },
          `not running (home ${ctx.home})${stale ? `; stale state file: ${stale}` : ''}; ` +
          `binary: ${typeof bin === 'object' ? `${bin.path} (from ${bin.source})` : bin ?? 'none found locally (the SDK download would be tried)'}`);
        return 1;
      }
      const { info } = check;
      // The process is ours; whether it serves is a separate question (starting up, or hung).
      const answers = await tcpOpen(info.address);
      show({ running: true, answering: answers, ...info },
        `running: ${info.address} (pid ${info.pid})${answers ? '' : ' but NOT answering on its port (starting, or hung: `clgrpo server stop` and start again)'}, ` +
        `Web UI ${info.uiUrl || '(headless)'}, db ${info.db}, binary from ${info.source}`);
      return answers ? 0 : 1;
    }
    default:
      console.error(`clgrpo server: expected start, stop or status (got '${action}')`);
      return 2;
  }
}
