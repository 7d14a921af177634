// The `clgrpo` command line: a thin dispatcher. Each command lives in lib/cli/<name>.ts and
// exports `run(argv: string[]): Promise<number>` returning the exit code
// (0 ok, 1 the thing checked failed / invalid, 2 usage or I/O error).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliDeps } from './lib/cli/common';

// What commands get injected (lib/ never imports activities/): worker.ts, loaded only by the
// commands that start a worker, so `validate` or `plan` do not load the activities.
const deps: CliDeps = {
  startWorker: (o) => (require('./worker') as typeof import('./worker')).startWorker(o),
};

const COMMANDS: Record<string, string> = {
  validate: 'check a spec: located errors, exit 1 when invalid',
  plan: 'compile a spec and show the stages, their keys and run/reuse decisions',
  run: 'run a spec on Temporal (starts the embedded server and a worker when needed)',
  status: 'show the stages of a run',
  watch: 'follow a run live',
  runs: 'list runs',
  resume: 'continue a run: reuse finished stages, resume the unfinished one from its checkpoint',
  cancel: 'cancel a run (it keeps its checkpoints)',
  lineage: 'print the ancestry of a run or artifact (tree, json, mermaid, dot)',
  verify: 're-hash the files of a run or artifact; exit 1 naming any that changed',
  report: 'write the Markdown + HTML report of a run',
  worker: 'start a worker on the given task queues',
  server: 'start|stop|status the embedded Temporal dev server',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['usage: clgrpo <command> [options]   (clgrpo <command> --help for its options)', '',
    ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) {
    console.error(`clgrpo: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  const file = join(__dirname, 'lib', 'cli', `${command}.ts`);
  if (!existsSync(file)) {
    console.error(`clgrpo ${command}: not available in this build`);
    return 2;
  }
  // require, not import(): bin/ts-require.js hooks CommonJS only, and import() of a .ts file would go
  // through the ESM loader, which has no hook for it (ERR_UNKNOWN_FILE_EXTENSION).
  const mod = require(file) as { run(argv: string[], deps: CliDeps): Promise<number> };
  return mod.run(rest, deps);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`clgrpo: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
