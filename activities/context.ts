// Builds the StageContext a stage implementation sees from the Temporal activity Context, so
// implementations never import Temporal: throttled heartbeats (at most one every ~2 s, the newest
// details always sent), the previous attempt's progress, and the cancellation signal.
import { hostname } from 'node:os';
import type { Context } from '@temporalio/activity';
import type { ArtifactStore } from '../lib/store';
import type { Logger, ProgressDetails, ResolvedInput, StageActivityInput, StageContext } from './types';
import { redactSecrets } from './failures';

type Env = Readonly<Record<string, string | undefined>>;

export const HEARTBEAT_MIN_INTERVAL_MS = 2000;

export interface Throttle {
  send(details: ProgressDetails): void;
  /** Sends what is pending now and stops the timer. */
  flush(): void;
}

/**
 * At most one `emit` per `intervalMs`; a call inside the window is kept and sent when the window ends
 * (only the newest), so the last progress before a crash is never older than one interval.
 */
export function throttle(emit: (d: ProgressDetails) => void, intervalMs = HEARTBEAT_MIN_INTERVAL_MS, now = Date.now): Throttle {
  let last = -Infinity;
  let pending: ProgressDetails | undefined;
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    timer = undefined;
    if (!pending) return;
    const d = pending;
    pending = undefined;
    last = now();
    emit(d);
  };
  return {
    send(details) {
      pending = details;
      const wait = last + intervalMs - now();
      if (wait <= 0) {
        if (timer) clearTimeout(timer);
        fire();
      } else if (!timer) {
        timer = setTimeout(fire, wait);
        timer.unref();
      }
    },
    flush() {
      if (timer) clearTimeout(timer);
      fire();
    },
  };
}

/** Heartbeat details may be anything a previous code version wrote: keep only a well-formed hint. */
export function readPreviousProgress(details: unknown): ProgressDetails | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const d = details as Partial<ProgressDetails>;
  if (typeof d.step !== 'number' || typeof d.total !== 'number') return undefined;
  return { ...d, step: d.step, total: d.total };
}

/** Heartbeats carry no secrets: metrics are numbers, free text is redacted. */
function cleanDetails(d: ProgressDetails, env: Env): ProgressDetails {
  const out: ProgressDetails = { step: d.step, total: d.total };
  if (d.checkpoint !== undefined) out.checkpoint = redactSecrets(String(d.checkpoint), env);
  if (d.phase !== undefined) out.phase = redactSecrets(String(d.phase), env);
  if (d.metrics) out.metrics = Object.fromEntries(Object.entries(d.metrics).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
  return out;
}

export interface BuiltContext {
  ctx: StageContext;
  heartbeats: Throttle;
}

export function buildStageContext(
  actx: Context, input: StageActivityInput, inputs: ResolvedInput[], store: ArtifactStore, log: Logger, env: Env,
): BuiltContext {
  const heartbeats = throttle((d) => actx.heartbeat(cleanDetails(d, env)));
  const info = actx.info;
  const ctx: StageContext = {
    run: input.run,
    stage: input.stage,
    inputs,
    outDir: store.createStaging(input.stage.id, input.stage.key),
    workDir: store.workDir(input.stage.key),
    attempt: info.attempt,
    workerIdentity: workerIdentity(env),
    previousProgress: readPreviousProgress(info.heartbeatDetails),
    heartbeat: (d) => heartbeats.send(d),
    signal: actx.cancellationSignal,
    log: {
      info: (m, meta) => log.info(`[${input.stage.id}] ${m}`, meta),
      warn: (m, meta) => log.warn(`[${input.stage.id}] ${m}`, meta),
      error: (m, meta) => log.error(`[${input.stage.id}] ${m}`, meta),
    },
    env,
  };
  return { ctx, heartbeats };
}

let identity: string | undefined;
export function workerIdentity(env: Env = {}): string {
  if (!identity) {
    identity = env.CLGRPO_WORKER_IDENTITY || `${process.pid}@${hostname()}`;
  }
  return identity;
}
