// Worker-thread side of the two-core sampling measurement (bench/grpo.ts): a thread with its own
// TF.js backend loads a model artifact and a dataset, then samples the rows it is asked for and
// reports the wall time. Wasm in Node has no threads, so a second worker_thread is the only way to
// put the second core to work; this file exists to measure whether doing so pays.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend';
import { openDataset } from '../data/dataset';
import { loadModelDir } from '../model-io';
import { TASK_PROMPT, encodePrompt } from '../prompt';
import { generate } from '../sampling';
import { rngFor } from '../../rng';
import { imagesFor } from './rollout';

interface Job { rows: number[]; maxNewTokens: number; seed: number }

async function main(): Promise<void> {
  await initBackend();
  const { modelDir, datasetDir } = workerData as { modelDir: string; datasetDir: string };
  const ds = openDataset(datasetDir);
  const { model, tokenizer } = loadModelDir(modelDir);
  const prompt = encodePrompt(tokenizer, TASK_PROMPT);
  parentPort!.on('message', (job: Job | 'exit') => {
    if (job === 'exit') { model.dispose(); process.exit(0); }
    const t0 = performance.now();
    const images = imagesFor(ds, 'train', job.rows);
    const g = generate(model, images, job.rows.map(() => prompt),
      { maxNewTokens: job.maxNewTokens, temperature: 1, rng: rngFor(job.seed, 'worker'), eos: tokenizer.eos });
    images.dispose();
    parentPort!.postMessage({ ms: performance.now() - t0, tokens: g.tokens.reduce((a, t) => a + t.length, 0) });
  });
  parentPort!.postMessage('ready');
}

void main();
