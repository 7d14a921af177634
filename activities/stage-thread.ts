// The body of a stage worker thread (started by thread-runner.ts through stage-thread.js): loads
// activities/<kind>.ts in this thread, rebuilds the StageContext around the serializable part the
// parent sent, and reports over the parent port: heartbeats and logs as they happen, then `done`
// with the StageOutput or `error` with the serialized error. TF.js gets its own backend here, so a
// training step blocks this thread's event loop, never the Temporal worker's.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadStageImplementation } from './registry';
import { jsonSafe, serializeError, type AbortMessage, type LogLevel, type ThreadMessage, type ThreadWorkerData } from './thread-protocol';
import type { StageContext } from './types';

const port = parentPort as MessagePort;
const data = workerData as ThreadWorkerData & { control: MessagePort };
const ac = new AbortController();

function onControl(m: AbortMessage | undefined): void {
  if (m?.type === 'abort' && !ac.signal.aborted) ac.abort(new Error(`stage '${data.ctx.stage.id}' cancelled: ${m.reason}`));
}
data.control.on('message', onControl);
// A stage may run synchronously for a while between awaits; polling the control port at each
// heartbeat sees an abort even before this thread's event loop turns.
const poll = (): void => onControl(receiveMessageOnPort(data.control)?.message as AbortMessage | undefined);

function send(m: ThreadMessage): void {
  try {
    port.postMessage(m);
  } catch {
    // Not cloneable (a function or a class instance in log meta): send the JSON-safe part.
    port.postMessage(jsonSafe(m) ?? { type: 'log', level: 'warn', msg: 'a stage message could not be sent to the worker' });
  }
}

const log = (level: LogLevel) => (msg: string, meta?: Record<string, unknown>): void => send({ type: 'log', level, msg, meta });

const ctx: StageContext = {
  ...data.ctx,
  heartbeat: (details) => {
    send({ type: 'heartbeat', details });
    poll();
  },
  get signal() {
    poll();
    return ac.signal;
  },
  log: { info: log('info'), warn: log('warn'), error: log('error') },
};

async function main(): Promise<void> {
  try {
    const impl = await loadStageImplementation(data.kind);
    const output = await impl(ctx);
    send({ type: 'done', output });
  } catch (err) {
    send({ type: 'error', error: serializeError(err) });
  } finally {
    // Nothing else should keep this thread alive; the parent terminates it anyway.
    data.control.close();
  }
}

void main();
