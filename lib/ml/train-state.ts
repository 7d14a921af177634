// What a training checkpoint holds and how it maps to files: `model.safetensors` (weights),
// `optimizer.safetensors` (AdamW moments), `config.json` (model config + tokenizer, so a checkpoint
// dir can be loaded like a model artifact, e.g. by `pretrain init:`), `state.json` (step, optimizer
// step, data cursor, RNG description, curves). Everything needed to continue bit for bit.
// Exports: TrainState, saveTrainCheckpoint, restoreTrainCheckpoint.
import * as tf from '@tensorflow/tfjs';
import type { CheckpointStore, LoadedCheckpoint } from './checkpoint';
import type { VlmModel } from './model';
import { modelWeightsBytes, type ModelFileConfig } from './model-io';
import type { AdamW } from './optimizer';
import { TASK_PROMPT_VERSION } from './prompt';
import { decodeSafetensors, encodeSafetensors, floatEntries, tensorsToEntries } from './safetensors';
import type { Tokenizer } from './tokenizer';

export interface TrainState {
  /** Steps completed. */
  step: number;
  total: number;
  /** Where the next batch comes from (derivable from step; recorded for inspection). */
  cursor: { epoch: number; batch: number };
  /** The shuffle stream is rngFor(seed, ...scope, epoch): no hidden RNG state to carry. */
  rng: { seed: number; scope: string[] };
  curves: Record<string, Array<[number, number]>>;
}

export function saveTrainCheckpoint(store: CheckpointStore, model: VlmModel, tokenizer: Tokenizer, opt: AdamW, state: TrainState): string {
  const st = opt.state();
  let optBytes: Buffer;
  try {
    optBytes = encodeSafetensors(tensorsToEntries(st.tensors));
  } finally {
    tf.dispose([...st.tensors.values()]);
  }
  const config: ModelFileConfig = { format: 'clgrpo-vlm', version: 1, model: model.config, tokenizer: tokenizer.toJSON(), promptVersion: TASK_PROMPT_VERSION };
  return store.save(state.step, new Map([
    ['model.safetensors', modelWeightsBytes(model)],
    ['optimizer.safetensors', optBytes],
    ['config.json', Buffer.from(JSON.stringify(config))],
    ['state.json', Buffer.from(JSON.stringify({ ...state, optimizerStep: st.step }))],
  ]));
}

/** Loads a verified checkpoint into the model and optimizer; returns its state. */
export function restoreTrainCheckpoint(ckpt: LoadedCheckpoint, model: VlmModel, opt: AdamW): TrainState {
  const need = (f: string): Buffer => {
    const b = ckpt.files.get(f);
    if (!b) throw new Error(`checkpoint ${ckpt.name} lacks ${f}`);
    return b;
  };
  const state = JSON.parse(need('state.json').toString('utf8')) as TrainState & { optimizerStep: number };
  model.loadWeights(floatEntries(decodeSafetensors(need('model.safetensors')).tensors));
  opt.loadState(state.optimizerStep, floatEntries(decodeSafetensors(need('optimizer.safetensors')).tensors));
  const { optimizerStep: _ignored, ...rest } = state;
  void _ignored;
  return rest;
}
