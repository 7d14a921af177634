// Reading and writing the model artifact's files (CONTRACTS "model"): `model.safetensors` (weights,
// readable by other tools), `config.json` ({ format, model: ModelConfig, tokenizer, prompt }) and
// `training.json` (curves). The tokenizer travels in config.json from pretrain to every later stage.
// Exports: writeModelFiles, loadModelDir, readModelConfig, modelWeightsBytes, ModelFileConfig, TrainingJson.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Rng } from '../rng';
import { Rng as RngClass } from '../rng';
import { VlmModel, type ModelConfig } from './model';
import { TASK_PROMPT_VERSION } from './prompt';
import { decodeSafetensors, encodeSafetensors, floatEntries, tensorsToEntries } from './safetensors';
import { Tokenizer, type TokenizerJson } from './tokenizer';
import * as tf from '@tensorflow/tfjs';

export interface ModelFileConfig {
  format: 'clgrpo-vlm';
  version: 1;
  model: ModelConfig;
  tokenizer: TokenizerJson;
  promptVersion: number;
}

export interface TrainingJson {
  kind: string;
  steps: number;
  curves: Record<string, Array<[number, number]>>;
}

/** The weights as safetensors bytes, parameters in their fixed order. */
export function modelWeightsBytes(model: VlmModel): Buffer {
  const named = model.namedWeights();
  try {
    return encodeSafetensors(tensorsToEntries(named), { format: 'clgrpo-vlm', size: model.config.size });
  } finally {
    tf.dispose([...named.values()]);
  }
}

/** Writes model.safetensors, config.json and (when given) training.json into dir. */
export function writeModelFiles(dir: string, model: VlmModel, tokenizer: Tokenizer, training?: TrainingJson): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), modelWeightsBytes(model));
  const config: ModelFileConfig = { format: 'clgrpo-vlm', version: 1, model: model.config, tokenizer: tokenizer.toJSON(), promptVersion: TASK_PROMPT_VERSION };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  if (training) fs.writeFileSync(path.join(dir, 'training.json'), JSON.stringify(training));
}

export function readModelConfig(dir: string): ModelFileConfig {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelFileConfig;
  if (c.format !== 'clgrpo-vlm' || c.version !== 1) throw new Error(`${file} is not a clgrpo-vlm v1 model config`);
  return c;
}

/** Builds the model from a model artifact (or checkpoint-like) dir and loads its weights. */
export function loadModelDir(dir: string): { model: VlmModel; tokenizer: Tokenizer; config: ModelFileConfig } {
  const config = readModelConfig(dir);
  const tokenizer = Tokenizer.fromJSON(config.tokenizer);
  // Initial values are overwritten at once; the fixed seed only keeps creation cheap and deterministic.
  const model = VlmModel.create(config.model, RngClass.fromSeed(0) as Rng);
  const { tensors } = decodeSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')));
  model.loadWeights(floatEntries(tensors));
  return { model, tokenizer, config };
}
