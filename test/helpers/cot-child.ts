// Runs the cot stage outside Temporal: `makeCotContext` builds a real StageContext over temp dirs
// (tests of the stage call it in-process), and run as a script it runs the stage in a child
// process so a test can SIGKILL it mid-stage and rerun it:
//   node --import tsx test/helpers/cot-child.ts <config.json>
// Heartbeats and log lines go to stdout as JSON lines ({"hb":…} / {"log":…}); the stage output as {"out":…}.
import * as fs from 'node:fs';
import { createCotStage } from '../../activities/cot';
import type { CotStageOptions } from '../../activities/cot';
import type { JsonObject } from '../../lib/canonical';
import type { ProgressDetails, StageContext } from '../../activities/types';

export interface CotChildConfig {
  datasetDir: string;
  workDir: string;
  outDir: string;
  params: JsonObject;
  env: Record<string, string>;
  seed?: number;
  options?: CotStageOptions;
}

export interface Captured {
  heartbeats: ProgressDetails[];
  logs: string[];
}

export function makeCotContext(c: CotChildConfig, captured: Captured, signal: AbortSignal = new AbortController().signal): StageContext {
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) => captured.logs.push(`${level} ${msg} ${meta ? JSON.stringify(meta) : ''}`);
  return {
    run: { runId: 'r1', workflowId: 'wf-test', pipeline: 'test', specHash: 'spec', seed: c.seed ?? 7 },
    stage: { id: 'cot', kind: 'cot', key: 'key-cot', params: c.params, seed: c.seed ?? 7 },
    inputs: [{ input: 'dataset', from: 'data', artifactId: 'ds-artifact', kind: 'dataset', dir: c.datasetDir, manifest: {} }],
    outDir: c.outDir,
    workDir: c.workDir,
    attempt: 1,
    workerIdentity: 'test-worker',
    heartbeat: (d) => captured.heartbeats.push(d),
    signal,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    env: c.env,
  };
}

async function main(configFile: string): Promise<void> {
  const c = JSON.parse(fs.readFileSync(configFile, 'utf8')) as CotChildConfig;
  const captured: Captured = { heartbeats: [], logs: [] };
  const ctx = makeCotContext(c, captured);
  ctx.heartbeat = (d) => process.stdout.write(`${JSON.stringify({ hb: d })}\n`);
  ctx.log = {
    info: (m) => process.stdout.write(`${JSON.stringify({ log: m })}\n`),
    warn: (m) => process.stdout.write(`${JSON.stringify({ log: m })}\n`),
    error: (m) => process.stdout.write(`${JSON.stringify({ log: m })}\n`),
  };
  const out = await createCotStage(c.options)(ctx);
  process.stdout.write(`${JSON.stringify({ out })}\n`);
}

if (require.main === module) {
  main(process.argv[2]).catch((e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message, type: (e as { type?: string }).type })}\n`);
    process.exit(1);
  });
}
