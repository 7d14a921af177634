// Shared plumbing of the runtime commands: what cli.ts injects, the store root, the Temporal
// endpoint and client, spec errors, and resolving "a run name or an artifact id". (argv parsing
// with --help is `parse` in args.ts, free of Temporal imports for `validate` and `plan`.)
import type { Client, Connection } from '@temporalio/client';
import { ClgrpoError } from '../errors';
import { ArtifactStore, readRun, storeRoot, type RunRecord } from '../store';
import { connectClient, type Endpoint } from '../temporal/connection';
import { currentEndpoint, ensureServer } from '../temporal/dev-server';
import type { StartWorker } from '../temporal/worker-process';

export type Env = Readonly<Record<string, string | undefined>>;

/** What the composition root (cli.ts) gives the commands: lib/ never constructs activities itself. */
export interface CliDeps {
  /** Starts a worker process with the real activities (worker.ts). */
  startWorker: StartWorker;
}

export interface Ctx {
  env: Env;
  home: string;
  store: ArtifactStore;
}

export function context(env: Env = process.env): Ctx {
  const home = storeRoot(env);
  return { env, home, store: new ArtifactStore(home) };
}

export interface Connected {
  endpoint: Endpoint;
  client: Client;
  connection: Connection;
}

/** Connects to TEMPORAL_ADDRESS or the embedded server, starting it when `start` is set. */
export async function connect(ctx: Ctx, start: boolean): Promise<Connected | undefined> {
  const endpoint = await endpointOf(ctx, start);
  if (!endpoint) return undefined;
  const { client, connection } = await connectClient(endpoint);
  return { endpoint, client, connection };
}

/** TEMPORAL_ADDRESS, or the embedded server's address (started when `start` is set; else undefined when none runs). */
export async function endpointOf(ctx: Ctx, start: boolean): Promise<Endpoint | undefined> {
  return start ? ensureServer(ctx.home, ctx.env, (m) => console.error(m)) : currentEndpoint(ctx.home, ctx.env);
}

/**
 * Runs `fn` with a client of the running server (never starts one) and closes it afterwards; with
 * no server and no TEMPORAL_ADDRESS it says so and returns exit code 2.
 */
export async function withClient(cmd: string, ctx: Ctx, fn: (c: Connected) => Promise<number>): Promise<number> {
  const c = await connect(ctx, false);
  if (!c) {
    console.error(`clgrpo ${cmd}: no Temporal server is running for ${ctx.home} and TEMPORAL_ADDRESS is not set`);
    return 2;
  }
  try {
    return await fn(c);
  } finally {
    await c.connection.close();
  }
}

/** Prints a ClgrpoError's message (they are written for people) and returns exit code 1 or 2. */
export function reportError(cmd: string, err: unknown): number {
  if (err instanceof ClgrpoError) {
    console.error(`clgrpo ${cmd}: ${err.message}`);
    return err.type === 'SpecError' || err.type === 'ArtifactCorruptError' ? 1 : 2;
  }
  throw err;
}

export type Target = { run: RunRecord } | { artifactId: string };

/** A run name (a record under runs/) or an artifact id / unique prefix of at least 8 hex digits. */
export function resolveTarget(ctx: Ctx, name: string): Target | string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    const rec = readRun(ctx.store, name);
    if (rec) return { run: rec };
  }
  if (/^[0-9a-f]{8,64}$/.test(name)) {
    const hits = ctx.store.listArtifacts().filter((id) => id.startsWith(name));
    if (hits.length === 1) return { artifactId: hits[0] };
    if (hits.length > 1) return `'${name}' matches ${hits.length} artifacts; give more digits`;
  }
  return `no run or artifact named '${name}' in ${ctx.home} (see 'clgrpo runs'; artifact ids are hex, 8+ digits)`;
}

/** resolveTarget for a command: prints why a name resolves to nothing and returns exit code 2 instead. */
export function targetOrExit(cmd: string, ctx: Ctx, name: string): Target | number {
  const t = resolveTarget(ctx, name);
  if (typeof t !== 'string') return t;
  console.error(`clgrpo ${cmd}: ${t}`);
  return 2;
}
