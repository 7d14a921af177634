// Child process for the kill-and-resume test of the grpo stage (not a test file). Runs the real
// stage implementation with the job described by the JSON file in argv[2]; when `pauseAt` is set,
// it writes `marker` as soon as the heartbeat reports that step's checkpoint and then blocks, so the
// parent can SIGKILL it mid-stage at a known point.
import * as fs from 'node:fs';
import { runGrpoStage } from '../../../activities/grpo';
import type { StageContext } from '../../../activities/types';

interface Job {
  modelDir: string;
  datasetDir: string;
  workDir: string;
  outDir: string;
  params: Record<string, unknown>;
  seed: number;
  pauseAt?: number;
  marker?: string;
}

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as Job;

const ctx: StageContext = {
  run: { runId: 'r', workflowId: 'w', pipeline: 'p', specHash: 'h', seed: job.seed },
  stage: { id: 'grpo', kind: 'grpo', key: 'k', params: job.params as never, seed: job.seed },
  inputs: [
    { input: 'model', from: 'sft', artifactId: 'model-id', kind: 'model', dir: job.modelDir, manifest: {} },
    { input: 'dataset', from: 'data', artifactId: 'data-id', kind: 'dataset', dir: job.datasetDir, manifest: {} },
  ],
  outDir: job.outDir, workDir: job.workDir, attempt: 1, workerIdentity: `child-${process.pid}`,
  heartbeat: (d) => {
    if (job.pauseAt !== undefined && d.step === job.pauseAt && d.checkpoint && job.marker) {
      fs.writeFileSync(job.marker, String(d.step));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // block until killed
    }
  },
  signal: new AbortController().signal,
  log: { info: () => {}, warn: () => {}, error: () => {} },
  env: process.env,
};

runGrpoStage(ctx).then(
  (out) => { process.stdout.write(JSON.stringify(out)); },
  (e) => { process.stderr.write(String(e?.stack ?? e)); process.exit(2); },
);
