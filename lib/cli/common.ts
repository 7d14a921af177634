// Shared plumbing of the runtime commands: the store root, the Temporal endpoint and client,
// argv parsing with --help, spec errors, and resolving "a run name or an artifact id".
import type { Client, Connection } from '@temporalio/client';
import { ClgrpoError } from '../errors';
import { ArtifactStore, readRun, storeRoot, type RunRecord } from '../store';
import { connectClient, type Endpoint } from '../temporal/connection';
import { currentEndpoint, ensureServer } from '../temporal/dev-server';
import { parseArgv, type CommandDef } from './args';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Ctx {
  env: Env;
  home: string;
  store: ArtifactStore;
}

export function context(env: Env = process.env): Ctx {
  const home = storeRoot(env);
  return { env, home, store: new ArtifactStore(home) };
}

/** Parses argv; on --help or a usage error prints and returns the exit code instead. */
export function parse(argv: string[], def: CommandDef): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | number {
  const a = parseArgv(argv, def);
  if (a.ok) return a;
  (a.exitCode === 0 ? console.log : console.error)(a.text);
  return a.exitCode;
}

export interface Connected {
  endpoint: Endpoint;
  client: Client;
  connection: Connection;
}

/** Connects to TEMPORAL_ADDRESS or the embedded server, starting it when `start` is set. */
export async function connect(ctx: Ctx, start: boolean): Promise<Connected | undefined> {
  const endpoint = start ? await ensureServer(ctx.home, ctx.env, (m) => console.error(m)) : currentEndpoint(ctx.home, ctx.env);
  if (!endpoint) return undefined;
  const { client, connection } = await connectClient(endpoint);
  return { endpoint, client, connection };
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
