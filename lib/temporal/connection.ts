// Client and worker connections to Temporal: the address comes from TEMPORAL_ADDRESS (an external
// cluster) or from the embedded dev server's state file under $CLGRPO_HOME. Also the Web UI link
// and the search-attribute keys the engine writes.
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
// The worker package (native core bridge, bundler) is loaded only by what connects a worker: the
// client-only commands (status, watch, runs, cancel) start ~0.35 s sooner without it.
import type { NativeConnection } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from './names';

type Env = Readonly<Record<string, string | undefined>>;

export const PIPELINE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.pipeline, SearchAttributeType.KEYWORD);
export const SPEC_HASH_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.specHash, SearchAttributeType.KEYWORD);

export interface Endpoint {
  address: string;
  namespace: string;
  /** Base URL of the Web UI, when known. */
  uiUrl?: string;
  /** True when TEMPORAL_ADDRESS named a cluster we do not manage. */
  external: boolean;
}

export function namespaceOf(env: Env): string {
  return env.TEMPORAL_NAMESPACE || 'default';
}

export async function connectClient(ep: Endpoint): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: ep.address, connectTimeout: '10s' });
  return { client: new Client({ connection, namespace: ep.namespace }), connection };
}

export async function connectWorker(ep: Endpoint): Promise<NativeConnection> {
  installRuntime();
  const { NativeConnection } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  return NativeConnection.connect({ address: ep.address });
}

export function workflowUrl(ep: Endpoint, workflowId: string, runId?: string): string | undefined {
  if (!ep.uiUrl) return undefined;
  const base = `${ep.uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ep.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}

/**
 * Registers the engine's search attributes on an external cluster (the dev server gets them as start
 * flags). Best effort: a cluster that refuses leaves runs without them, which only affects filtering.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<boolean> {
  try {
    const have = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((n) => !(n in (have.customAttributes ?? {})));
    if (!missing.length) return true;
    await connection.operatorService.addSearchAttributes({
      namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
    });
    return true;
  } catch {
    return false;
  }
}

let runtimeInstalled = false;

/** Quiet SDK logs (ERROR only; the engine logs what matters itself) unless CLGRPO_TEMPORAL_LOG asks for more; the Runtime can be set once. */
export function installRuntime(level = process.env.CLGRPO_TEMPORAL_LOG ?? 'ERROR'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  try {
    Runtime.install({
      logger: new DefaultLogger(level as 'WARN'),
      telemetryOptions: { logging: { filter: { core: level as 'WARN', other: level as 'WARN' }, forward: {} } },
    });
  } catch {
    // Already installed by someone else in this process: keep theirs.
  }
}

