// Test set-up for the runtime: a real `temporal server start-dev` per test file (temp db, free
// ports, headless), a real worker with injected stage implementations on a unique task queue, and
// tiny hand-built Plans.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { StageImplementation } from '../../activities/types';
import { hashJson } from '../../lib/canonical';
import { codeHashes } from '../../lib/code/identity';
import { stageKeyOf } from '../../lib/plan';
import type { Plan, PlanStage, StageKind } from '../../lib/plan/types';
import { ArtifactStore } from '../../lib/store';
import { connectClient, connectWorker, installRuntime, type Endpoint } from '../../lib/temporal/connection';
import { startServer, stopServer, type ServerInfo } from '../../lib/temporal/dev-server';
import { createWorkers, runWorkers } from '../../lib/temporal/workers';

export interface TestServer {
  home: string;
  info: ServerInfo;
  endpoint: Endpoint;
  client: Client;
  connection: Connection;
  workerConnection: NativeConnection;
  stop(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  installRuntime(process.env.CLGRPO_TEMPORAL_LOG ?? 'ERROR'); // expected failures would flood the test output
  const home = mkdtempSync(join(tmpdir(), 'clgrpo-temporal-'));
  const info = await startServer({ home, headless: true, port: 0 });
  const endpoint: Endpoint = { address: info.address, namespace: 'default', external: false };
  const { client, connection } = await connectClient(endpoint);
  const workerConnection = await connectWorker(endpoint);
  return {
    home, info, endpoint, client, connection, workerConnection,
    async stop() {
      await connection.close();
      await workerConnection.close();
      await stopServer(home);
    },
  };
}

export function uniqueQueue(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export const quietLog = { info() {}, warn() {}, error() {} };

export interface TestWorker {
  store: ArtifactStore;
  stop(): Promise<void>;
}

/** A real worker on `queue` (workflows + activities) with the given stage implementations. */
export async function startTestWorker(s: TestServer, queue: string, stages: Partial<Record<StageKind, StageImplementation>>, store?: ArtifactStore): Promise<TestWorker> {
  const st = store ?? new ArtifactStore(mkdtempSync(join(tmpdir(), 'clgrpo-store-')));
  const activities = createActivities({ store: st, log: quietLog, env: {}, stages });
  const workers = await createWorkers({ connection: s.workerConnection, namespace: 'default', activities, queues: [queue], workflowQueue: queue, concurrency: 8, shutdownGraceMs: 2000 });
  const h = runWorkers(workers);
  return { store: st, async stop() { h.shutdown(); await h.done; } };
}

export interface StageSpec {
  id: string;
  needs?: string[];
  kind?: StageKind;
  retry?: Partial<PlanStage['retry']>;
  timeouts?: Partial<PlanStage['timeouts']>;
  params?: PlanStage['params'];
}

/**
 * The key and key parts the compiler (lib/plan compilePlan, the public entry) gives a stand-in for a
 * hand-built stage: a synthetic dataset stage whose seed is derived from `identity`. A change to the
 * key formula (its parts, the code identity) so reaches hand-built plans too. The compiler sees the
 * whole identity as params + seed, so `keyParts.params` changes when any of it does, inputs included.
 */
/** A hand-built Plan (any shape, injected stage kinds): each need feeds an input named after it; keys come from the compiler. */
export function makePlan(name: string, queue: string, stages: StageSpec[], opts: { maxParallel?: number; salt?: string } = {}): Plan {
  const keys = new Map<string, string>();
  const out: PlanStage[] = stages.map((s) => {
    const needs = s.needs ?? [];
    const kind = s.kind ?? 'dataset';
    const params = s.params ?? { id: s.id };
    // The compiler's own key formula, with this checkout's code identity for the kind (a worker
    // running a real implementation checks it); the salt goes in as the seed.
    const seed = opts.salt ? parseInt(hashJson(opts.salt).slice(0, 8), 16) : 7;
    const { key, keyParts } = stageKeyOf(kind, params, seed, needs.map((n) => ({ input: n, key: keys.get(n) as string })), codeHashes([kind])[kind]);
    keys.set(s.id, key);
    return {
      id: s.id, baseId: s.id, kind, needs, inputs: needs.map((n) => ({ input: n, from: n, kind: 'dataset' as const })),
      params, seed, output: 'dataset', queue, key, keyParts,
      retry: { maximumAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 200, ...s.retry },
      timeouts: { startToCloseMs: 60_000, heartbeatMs: 10_000, ...s.timeouts },
    };
  });
  return { planVersion: 1, name, specHash: hashJson({ name, stages, salt: opts.salt ?? '' }), seed: 7, maxParallel: opts.maxParallel ?? 4, stages: out };
}

/** A stage that writes its id and inputs, optionally sleeping while heartbeating. */
export function tinyStage(opts: { sleepMs?: number; onStart?: (id: string) => void; onEnd?: (id: string) => void } = {}): StageImplementation {
  return async (ctx) => {
    opts.onStart?.(ctx.stage.id);
    const steps = Math.max(1, Math.ceil((opts.sleepMs ?? 0) / 50));
    for (let i = 0; i < steps && opts.sleepMs; i++) {
      if (ctx.signal.aborted) throw new Error('cancelled');
      ctx.heartbeat({ step: i, total: steps });
      await new Promise((r) => setTimeout(r, 50));
    }
    writeFileSync(join(ctx.outDir, 'out.json'), JSON.stringify({ id: ctx.stage.id, inputs: ctx.inputs.map((i) => i.artifactId) }));
    opts.onEnd?.(ctx.stage.id);
    return { kind: 'dataset', metrics: { n: ctx.inputs.length } };
  };
}
