// Lifecycle of the embedded Temporal dev server: `temporal server start-dev` on 127.0.0.1, persisted
// to $CLGRPO_HOME/temporal.db (SQLite), Web UI on port+1000, the engine's search attributes
// registered at start. State lives in $CLGRPO_HOME/temporal-server.json (+ .pid) so any later
// command finds it; with TEMPORAL_ADDRESS set nothing is started (ensureServer).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from './names';
import { resolveTemporalBinary, type BinarySource } from './binary';
import { namespaceOf, type Endpoint } from './connection';

type Env = Readonly<Record<string, string | undefined>>;

export interface ServerInfo {
  pid: number;
  port: number;
  uiPort: number;
  address: string;
  uiUrl: string;
  db: string;
  binary: string;
  source: BinarySource;
  startedAt: string;
}

export const DEFAULT_PORT = 7233;

/**
 * SQLite settings of the dev server's store. Its default (rollback journal, synchronous FULL) pays
 * several fsyncs per transaction, and every stage transition is a few transactions. WAL with
 * synchronous NORMAL commits without an fsync (the WAL is synced at checkpoints): a killed server
 * loses nothing (the WAL is in the OS cache and replayed on open), only a power cut may drop the
 * last transactions. `CLGRPO_SQLITE_PRAGMAS=default` keeps the server's own settings; any other
 * value is a comma-separated list of PRAGMA=VALUE pairs (the CLI allows journal_mode and synchronous).
 */
export function sqlitePragmas(env: Env): string[] {
  const v = env.CLGRPO_SQLITE_PRAGMAS?.trim();
  if (v === 'default') return [];
  return (v || 'journal_mode=wal,synchronous=normal').split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * Dynamic config of the dev server, as KEY=JSON values. The history service reads its transfer
 * queue (the tasks that hand a scheduled workflow task or activity to matching) at most 20 times a
 * second per shard by default; the dev server has one shard, and every stage transition needs two
 * such reads (the workflow task after a stage completes, then the next stage's activity), so back to
 * back short stages queued behind that limit: a 50-stage chain of 6 ms stages took 92 ms per
 * transition, 37 ms with the limit lifted (bench/engine.ts, docs/runtime.md). The reads are
 * triggered by new tasks, so an idle server does not read more. `CLGRPO_TEMPORAL_DYNAMIC_CONFIG`
 * adds or overrides values (comma-separated KEY=VALUE; `KEY=` drops a default).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string>> = { 'history.transferProcessorMaxPollRPS': '1000' };

export function dynamicConfig(env: Env): string[] {
  const values: Record<string, string> = { ...DEV_SERVER_DYNAMIC_CONFIG };
  for (const item of (env.CLGRPO_TEMPORAL_DYNAMIC_CONFIG ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`CLGRPO_TEMPORAL_DYNAMIC_CONFIG: "${item}" is not KEY=VALUE (e.g. history.transferProcessorMaxPollRPS=1000)`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (value) values[key] = value;
    else delete values[key];
  }
  return Object.entries(values).map(([k, v]) => `${k}=${v}`);
}

const stateFile = (home: string): string => join(home, 'temporal-server.json');
const pidFile = (home: string): string => join(home, 'temporal-server.pid');

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What the state file of `home` points at. A pid alone proves nothing: after a reboot it may belong
 * to any process, so the process must also be our `temporal server start-dev` with the recorded port
 * and db (its command line, from /proc or `ps`). 'stale' means: never signal it, never connect to it.
 */
export type ServerCheck =
  | { kind: 'none' }
  | { kind: 'ours'; info: ServerInfo }
  | { kind: 'stale'; info?: ServerInfo; reason: string };

export function checkServer(home: string): ServerCheck {
  const f = stateFile(resolve(home));
  if (!existsSync(f)) return { kind: 'none' };
  let info: ServerInfo;
  try {
    info = JSON.parse(readFileSync(f, 'utf8')) as ServerInfo;
  } catch (err) {
    return { kind: 'stale', reason: `${f} is unreadable (${(err as Error).message})` };
  }
  if (!Number.isInteger(info.pid) || info.pid <= 0) return { kind: 'stale', info, reason: `${f} holds no valid pid` };
  if (!alive(info.pid)) return { kind: 'stale', info, reason: `pid ${info.pid} is not running` };
  const why = notOurServer(info, processCommandLine(info.pid));
  return why ? { kind: 'stale', info, reason: `pid ${info.pid} ${why}` } : { kind: 'ours', info };
}

/** The running server recorded for `home`, identified by its command line (see checkServer). */
export function readServerInfo(home: string): ServerInfo | undefined {
  const c = checkServer(home);
  return c.kind === 'ours' ? c.info : undefined;
}

/**
 * The command line of a live process: argv from /proc (Linux), else `ps -o args=` (one string,
 * split on spaces). Undefined when it cannot be read (gone, a zombie, no /proc and no ps).
 */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv.length ? argv : undefined;
  } catch {
    // no /proc (macOS, BSD): ps
  }
  try {
    const out = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return out ? out.split(/\s+/) : undefined;
  } catch {
    return undefined;
  }
}

/** Why `argv` is not the dev server recorded in `info`, or undefined when it is. */
export function notOurServer(info: ServerInfo, argv: string[] | undefined): string | undefined {
  if (!argv) return 'has no readable command line';
  // Joined with spaces, so `ps` output (already split on spaces) matches paths with spaces too.
  const line = ` ${argv.join(' ')} `;
  const head = argv.slice(0, 2); // the binary, or an interpreter running a wrapper script
  const isTemporal = head.some((a) => a === info.binary || /temporal/i.test(basename(a)));
  if (!isTemporal || !line.includes(' server start-dev ')) return `is not a temporal server start-dev (it runs: ${argv.join(' ').slice(0, 120)})`;
  if (!line.includes(` --port ${info.port} `)) return `is a temporal dev server, but not on the recorded port ${info.port}`;
  if (!line.includes(` --db-filename ${info.db} `)) return `is a temporal dev server, but not on the recorded db ${info.db}`;
  return undefined;
}

/** Removes the state files of a server that is not (or no longer) ours, saying why. */
function dropStaleState(home: string, check: ServerCheck & { kind: 'stale' }, log: (m: string) => void): void {
  log(`ignoring a stale Temporal dev server state file (${stateFile(home)}): ${check.reason}; removed it, the process was not signalled`);
  rmSync(stateFile(home), { force: true });
  rmSync(pidFile(home), { force: true });
}

export async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A free port p with p+1000 free as well (the UI port). */
export async function freePortPair(preferred?: number): Promise<number> {
  if (preferred && (await portFree(preferred)) && (await portFree(preferred + 1000))) return preferred;
  for (let i = 0; i < 50; i++) {
    const p = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => res(typeof a === 'object' && a ? a.port : 0));
      });
    });
    if (p > 0 && p + 1000 < 65536 && (await portFree(p + 1000))) return p;
  }
  throw new Error('could not find two free ports (p, p+1000) for the Temporal dev server');
}

/** Waits until the frontend answers a namespace call (the server is usable, not only listening). */
export async function waitReady(address: string, namespace: string, timeoutMs: number, pid?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (pid !== undefined && !alive(pid)) throw new Error(`the Temporal dev server (pid ${pid}) exited during start-up`);
    if (await tcpOpen(address)) {
      try {
        const c = await Connection.connect({ address, connectTimeout: '2s' });
        try {
          await c.workflowService.describeNamespace({ namespace });
          return;
        } finally {
          await c.close();
        }
      } catch (err) {
        last = err;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Temporal at ${address} was not ready within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/** Whether something accepts TCP connections at `host:port`. */
export function tcpOpen(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((res) => {
    const s = createConnection({ host, port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

export interface StartOptions {
  home: string;
  port?: number;
  headless?: boolean;
  env?: Env;
  timeoutMs?: number;
  /** Where a stale state file (a pid that is not our server) is reported. */
  log?: (m: string) => void;
}

/** Starts the dev server in the background (or returns the running one for this home). */
export async function startServer(opts: StartOptions): Promise<ServerInfo & { reused: boolean }> {
  const home = resolve(opts.home);
  mkdirSync(home, { recursive: true });
  const env = opts.env ?? process.env;
  const check = checkServer(home);
  if (check.kind === 'stale') dropStaleState(home, check, opts.log ?? (() => {}));
  if (check.kind === 'ours') {
    // Our process with our db: reuse it once it answers (it may still be starting for another
    // command); a second server on the same SQLite file would be worse than an error.
    try {
      if (!(await tcpOpen(check.info.address))) await waitReady(check.info.address, namespaceOf(env), opts.timeoutMs ?? 60_000, check.info.pid);
    } catch (err) {
      throw new Error(`the Temporal dev server of ${home} (pid ${check.info.pid}) does not answer at ${check.info.address}: ${(err as Error).message}. ` +
        'Stop it with `clgrpo server stop` and retry.');
    }
    return { ...check.info, reused: true };
  }
  const bin = await resolveTemporalBinary(env);
  const port = await freePortPair(opts.port ?? (Number(env.CLGRPO_TEMPORAL_PORT) || DEFAULT_PORT));
  const db = join(home, 'temporal.db');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', db,
    ...sqlitePragmas(env).flatMap((p) => ['--sqlite-pragma', p]),
    ...dynamicConfig(env).flatMap((v) => ['--dynamic-config-value', v]),
    '--log-level', 'warn', '--namespace', namespaceOf(env),
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((n) => ['--search-attribute', `${n}=Keyword`]),
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(port + 1000)])];
  const log = openSync(join(home, 'temporal-server.log'), 'a');
  // Detached in its own process group: the server outlives the CLI that started it.
  const child = spawn(bin.path, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid as number;
  const info: ServerInfo = {
    pid, port, uiPort: port + 1000, address: `127.0.0.1:${port}`, uiUrl: opts.headless ? '' : `http://127.0.0.1:${port + 1000}`,
    db, binary: bin.path, source: bin.source, startedAt: new Date().toISOString(),
  };
  writeFileSync(pidFile(home), `${pid}\n`);
  writeFileSync(stateFile(home), `${JSON.stringify(info, null, 2)}\n`);
  try {
    await waitReady(info.address, namespaceOf(env), opts.timeoutMs ?? 60_000, pid);
  } catch (err) {
    await stopServer(home);
    throw new Error(`${(err as Error).message}; see ${join(home, 'temporal-server.log')}`);
  }
  return { ...info, reused: false };
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; removes the state files. Returns whether one was running.
 * Only a process identified as this home's server is signalled (checkServer); a stale state file
 * (dead pid, or a pid reused by another process) is removed with a line to `log`.
 */
export async function stopServer(home: string, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM', log: (m: string) => void = () => {}): Promise<boolean> {
  const dir = resolve(home);
  const check = checkServer(dir);
  if (check.kind === 'none') return false;
  if (check.kind === 'stale') {
    dropStaleState(dir, check, log);
    return false;
  }
  const { info } = check;
  const ours = (): boolean => alive(info.pid) && !notOurServer(info, processCommandLine(info.pid));
  try { process.kill(info.pid, signal); } catch { /* already gone */ }
  const deadline = Date.now() + graceMs;
  while (alive(info.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Checked again: in the grace time the server may have exited and its pid been reused.
  if (ours()) try { process.kill(info.pid, 'SIGKILL'); } catch { /* already gone */ }
  rmSync(stateFile(dir), { force: true });
  rmSync(pidFile(dir), { force: true });
  return true;
}

/** The endpoint every command uses: TEMPORAL_ADDRESS as given, else the embedded server (started if needed). */
export async function ensureServer(home: string, env: Env = process.env, log: (m: string) => void = () => {}): Promise<Endpoint> {
  if (env.TEMPORAL_ADDRESS) {
    return { address: env.TEMPORAL_ADDRESS, namespace: namespaceOf(env), uiUrl: env.TEMPORAL_UI_URL, external: true };
  }
  const info = await startServer({ home, env, log });
  log(info.reused
    ? `using the Temporal dev server at ${info.address} (pid ${info.pid})`
    : `started the Temporal dev server at ${info.address} (pid ${info.pid}, binary from ${info.source}: ${info.binary}, db ${info.db})`);
  return { address: info.address, namespace: namespaceOf(env), uiUrl: info.uiUrl || undefined, external: false };
}

/** The endpoint when a server must already exist (status, cancel...): never starts one. */
export function currentEndpoint(home: string, env: Env = process.env): Endpoint | undefined {
  if (env.TEMPORAL_ADDRESS) return { address: env.TEMPORAL_ADDRESS, namespace: namespaceOf(env), uiUrl: env.TEMPORAL_UI_URL, external: true };
  const info = readServerInfo(home);
  return info ? { address: info.address, namespace: namespaceOf(env), uiUrl: info.uiUrl || undefined, external: false } : undefined;
}
