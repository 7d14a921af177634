// Fixtures for the pretrain/sft activity tests: a temp store with a tiny synthetic dataset artifact,
// a cot-dataset built from it with the compact attribute chains, and stage refs/contexts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JsonObject } from '../../lib/canonical';
import type { ResolvedInput, StageRef } from '../../activities/types';
import type { StageKind } from '../../lib/plan/types';
import { writeSyntheticDataset } from '../../lib/ml/data/build-synthetic';
import { openDataset } from '../../lib/ml/data/dataset';
import { compactRationale } from '../../lib/ml/data/synthetic-rules';
import { cotCompletion } from '../../lib/ml/prompt';
import type { HarnessContext } from '../helpers/stage-harness';

export function tempStore(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-stage-'));
  fs.mkdirSync(path.join(root, 'artifacts'));
  return root;
}

export function datasetInput(root: string, sizes = { train: 32, val: 8, test: 8 }, id = 'ds0'): ResolvedInput {
  const dir = path.join(root, 'artifacts', id);
  fs.mkdirSync(dir);
  writeSyntheticDataset(dir, { seed: 11, ...sizes });
  return { input: 'dataset', from: 'data', artifactId: id, kind: 'dataset', dir, manifest: { kind: 'dataset', inputs: [] } };
}

/** A cot-dataset artifact next to the dataset, its manifest naming the dataset as input. */
export function cotInput(root: string, ds: ResolvedInput, id = 'cot0'): ResolvedInput {
  const dir = path.join(root, 'artifacts', id);
  fs.mkdirSync(dir);
  const lines = openDataset(ds.dir).samples('train').map((s) => {
    const think = compactRationale(s.attributes as Record<string, string | null>);
    return JSON.stringify({ index: s.index, label: s.label, labelId: s.labelId, think, answer: s.label, completion: cotCompletion(think, s.label), teacher: 'attributes' });
  });
  fs.writeFileSync(path.join(dir, 'cot.jsonl'), `${lines.join('\n')}\n`);
  const manifest = { kind: 'cot-dataset', inputs: [{ input: 'dataset', from: 'data', artifactId: ds.artifactId }] };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { input: 'data', from: 'cot', artifactId: id, kind: 'cot-dataset', dir, manifest };
}

export function stageRef(kind: StageKind, params: JsonObject, seed = 5): StageRef {
  return { id: kind, kind, key: `${kind}-key`, params, seed };
}

export function harnessContext(root: string, stage: StageRef, inputs: ResolvedInput[], name: string): HarnessContext {
  const outDir = path.join(root, 'staging', name);
  const workDir = path.join(root, 'work', name);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(workDir, { recursive: true });
  return { stage, inputs, outDir, workDir, env: { TFJS_BACKEND: 'wasm' } };
}

export const TINY_PRETRAIN = { model: 'tiny', steps: 12, batchSize: 8, lr: 3e-3, warmupSteps: 2, weightDecay: 0.01, gradClip: 1, checkpointEvery: 4, keepCheckpoints: 2 };
