// The small VLM: a ViT-style image encoder (patches by reshape/transpose/matmul, no conv), a
// two-layer projector into the language model's width, and a decoder-only LM (RMSNorm, RoPE,
// SwiGLU, causal attention, KV cache, embedding tied to the output head).
// A sequence is [16 image embeddings][text tokens]; text position t predicts text token t+1.
// Exports: VlmModel (create, forward, textLogits, prefill, decodeStep, tokenLogProbs,
//          completionLogProbs, prepareDecode, trainableVariables, namedWeights, loadWeights, dispose), KvCache,
//          buildCompletionBatch, and re-exports of model-config.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng';
import { attention2d, linear, rmsNorm, swiglu, type KvEntry } from './model-layers';
import { decodeOneStep, prepareDecode, type DecodeWeights } from './model-decode';
import { numPatches, paramShapes, type ModelConfig, type TowerConfig } from './model-config';

export * from './model-config';

/** Per decoder layer keys/values plus the number of positions they cover. Owned by the caller. */
export interface KvCache {
  layers: KvEntry[];
  length: number;
}

function initStd(name: string, c: ModelConfig): number | 'ones' | 'zeros' {
  if (/norm\d?$/.test(name)) return 'ones';
  if (name.endsWith('.b')) return 'zeros';
  if (name.endsWith('.wo') || name.endsWith('.w2')) {
    const layers = name.startsWith('vision') ? c.vision.layers : c.text.layers;
    return 0.02 / Math.sqrt(2 * layers);
  }
  return 0.02;
}

// Variable names must be unique per process; a counter keeps them so across models.
let nextModelId = 0;

export class VlmModel {
  readonly config: ModelConfig;
  readonly params: Map<string, tf.Variable>;

  private constructor(config: ModelConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A fresh model; every initial value is drawn from `rng` in paramShapes order (deterministic). */
  static create(config: ModelConfig, rng: Rng): VlmModel {
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of paramShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const std = initStd(name, config);
      if (std === 'ones') data.fill(1);
      else if (std !== 'zeros') for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      params.set(name, tf.variable(tf.tensor(data, shape, 'float32'), true, `${name}#${nextModelId}`));
    }
    nextModelId++;
    return new VlmModel(config, params);
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** One pre-norm block over the residual stream x [B·T, d] (kept 2-D: no reshapes around matmuls). */
  private block(prefix: string, t: TowerConfig, x: tf.Tensor2D, B: number, T: number, causal: boolean, offset: number, cache?: KvEntry, keepKv = false) {
    const att = attention2d(rmsNorm(x, this.p(`${prefix}.norm1`), this.config.normEps) as tf.Tensor2D, B, T,
      this.p(`${prefix}.wqkv`), this.p(`${prefix}.wo`),
      { heads: t.heads, causal, offset, ropeBase: causal ? this.config.ropeBase : undefined, cache, keepKv });
    const h = tf.add(x, att.y) as tf.Tensor2D;
    const y = tf.add(h, swiglu(rmsNorm(h, this.p(`${prefix}.norm2`), this.config.normEps),
      this.p(`${prefix}.w13`), this.p(`${prefix}.w2`))) as tf.Tensor2D;
    return { y, kv: att.kv };
  }

  /** Images [B, S, S, 3] (uint8 0..255 or float 0..1) → image embeddings [B, P, d_text]. */
  encodeImages(images: tf.Tensor4D): tf.Tensor3D {
    const c = this.config;
    const [B, S] = images.shape;
    if (S !== c.imageSize) throw new Error(`image size ${S} differs from the model's ${c.imageSize}`);
    const g = S / c.patchSize;
    const P = numPatches(c);
    const x0 = images.dtype === 'float32' ? images : tf.div(tf.cast(images, 'float32'), 255);
    const patches = tf.transpose(tf.sub(x0, 0.5).reshape([B, g, c.patchSize, g, c.patchSize, c.channels]), [0, 1, 3, 2, 4, 5])
      .reshape([B * P, c.patchSize * c.patchSize * c.channels]);
    const x1 = tf.add(linear(patches, this.p('vision.patch.w')), this.p('vision.patch.b')).reshape([B, P, c.vision.dim]);
    let x = tf.add(x1, this.p('vision.pos')).reshape([B * P, c.vision.dim]) as tf.Tensor2D;
    for (let l = 0; l < c.vision.layers; l++) x = this.block(`vision.block.${l}`, c.vision, x, B, P, false, 0).y;
    const h = linear(rmsNorm(x, this.p('vision.norm'), c.normEps), this.p('proj.w1'));
    return linear(tf.mul(h, tf.sigmoid(h)), this.p('proj.w2')).reshape([B, P, c.text.dim]);
  }

  private embed(tokens: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = tokens.shape;
    return tf.gather(this.p('text.embed'), tokens.reshape([B * T])).reshape([B, T, this.config.text.dim]);
  }

  /**
   * Runs the decoder over embeddings x [B, T, d] starting at `offset`, extending `cache` if given;
   * h is [B, T, d]; `layers` holds keys/values only with `keepKv` or a cache.
   */
  private decode(x: tf.Tensor3D, offset: number, cache?: KvCache, keepKv = false): { h: tf.Tensor3D; layers: KvEntry[] } {
    const [B, T, d] = x.shape;
    let x2 = x.reshape([B * T, d]) as tf.Tensor2D;
    const layers: KvEntry[] = [];
    for (let l = 0; l < this.config.text.layers; l++) {
      const r = this.block(`text.block.${l}`, this.config.text, x2, B, T, true, offset, cache?.layers[l], keepKv);
      x2 = r.y;
      if (r.kv) layers.push(r.kv);
    }
    return { h: rmsNorm(x2, this.p('text.norm'), this.config.normEps).reshape([B, T, d]), layers };
  }

  /**
   * Tied output head: h [B, T, d] → logits [B, T, V]. The embedding is transposed explicitly: with
   * matMul's transposeB the gradient would transpose the much larger [B·T, V] logits gradient.
   */
  private head(h: tf.Tensor3D): tf.Tensor3D {
    const [B, T, d] = h.shape;
    return tf.matMul(h.reshape([B * T, d]) as tf.Tensor2D, tf.transpose(this.p('text.embed'))).reshape([B, T, this.config.vocabSize]);
  }

  /** Logits [B, T, V] at every text position (no cache). */
  textLogits(images: tf.Tensor4D, tokens: tf.Tensor2D): tf.Tensor3D {
    const P = numPatches(this.config);
    const [B, T] = tokens.shape;
    const x = tf.concat([this.encodeImages(images), this.embed(tokens)], 1) as tf.Tensor3D;
    const { h } = this.decode(x, 0);
    return this.head(tf.slice(h, [0, P, 0], [B, T, this.config.text.dim]));
  }

  /** Alias of textLogits: the model's forward pass. */
  forward(images: tf.Tensor4D, tokens: tf.Tensor2D): tf.Tensor3D {
    return this.textLogits(images, tokens);
  }

  /** Encodes images and prompts [B, T]; returns the last position's logits [B, V] and a new cache. */
  prefill(images: tf.Tensor4D, prompts: tf.Tensor2D): { logits: tf.Tensor2D; cache: KvCache } {
    const P = numPatches(this.config);
    const [B, T] = prompts.shape;
    const x = tf.concat([this.encodeImages(images), this.embed(prompts)], 1) as tf.Tensor3D;
    const { h, layers } = this.decode(x, 0, undefined, true);
    const last = tf.slice(h, [0, P + T - 1, 0], [B, 1, this.config.text.dim]) as tf.Tensor3D;
    return { logits: this.head(last).reshape([B, -1]) as tf.Tensor2D, cache: { layers, length: P + T } };
  }

  /** Weights laid out for decodeStep's one-token fast path; derive once per generation (caller disposes). */
  prepareDecode(): DecodeWeights {
    return prepareDecode(this.config, (n) => this.p(n));
  }

  /**
   * New tokens [B, T] → last logits [B, V] and the extended cache (the old one is not disposed).
   * With `dw` (from prepareDecode, current weights) and T = 1 it takes the fast path.
   */
  decodeStep(tokens: tf.Tensor2D, cache: KvCache, dw?: DecodeWeights): { logits: tf.Tensor2D; cache: KvCache } {
    const [B, T] = tokens.shape;
    if (T === 1 && dw) {
      const r = decodeOneStep(this.config, dw, tokens.reshape([B]) as tf.Tensor1D, cache.length, cache.layers);
      return { logits: r.logits, cache: { layers: r.layers, length: cache.length + 1 } };
    }
    const { h, layers } = this.decode(this.embed(tokens), cache.length, cache);
    const last = tf.slice(h, [0, T - 1, 0], [B, 1, this.config.text.dim]) as tf.Tensor3D;
    return { logits: this.head(last).reshape([B, -1]) as tf.Tensor2D, cache: { layers, length: cache.length + T } };
  }

  /** log p(tokens[:, t+1] | ...) for t = 0..T-2, as [B, T-1], by one-hot products (no gather grads). */
  tokenLogProbs(images: tf.Tensor4D, tokens: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = tokens.shape;
    const logits = tf.slice(this.textLogits(images, tokens), [0, 0, 0], [B, T - 1, this.config.vocabSize]);
    const targets = tf.slice(tokens, [0, 1], [B, T - 1]);
    const oneHot = tf.oneHot(targets.reshape([B * (T - 1)]), this.config.vocabSize).reshape([B, T - 1, -1]);
    return tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), -1) as tf.Tensor2D;
  }

  /**
   * Per-token log-probs of each completion after its prompt, differentiable and batched:
   * returns logProbs and mask, both [B, Lmax] (column j = completion token j; mask 0 past its end).
   */
  completionLogProbs(images: tf.Tensor4D, prompts: number[][], completions: number[][]): { logProbs: tf.Tensor2D; mask: tf.Tensor2D } {
    const b = buildCompletionBatch(prompts, completions, 0);
    const tokens = tf.tensor2d(b.tokens, [b.B, b.T], 'int32');
    const lp = this.tokenLogProbs(images, tokens);
    const select = tf.tensor3d(b.select, [b.B, b.T - 1, b.L]);
    const out = tf.matMul(lp.reshape([b.B, 1, b.T - 1]) as tf.Tensor3D, select).reshape([b.B, b.L]) as tf.Tensor2D;
    return { logProbs: out, mask: tf.tensor2d(b.mask, [b.B, b.L]) };
  }

  /** Copies of every weight by name (caller disposes). */
  namedWeights(): Map<string, tf.Tensor> {
    return new Map([...this.params].map(([n, v]) => [n, v.clone()]));
  }

  /** Assigns weights by name; every parameter must be present with its exact shape. */
  loadWeights(weights: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, v] of this.params) {
      const w = weights.get(name);
      if (!w) throw new Error(`weights lack parameter ${name}`);
      if (w.shape.join(',') !== v.shape.join(',')) throw new Error(`parameter ${name}: shape ${w.shape} differs from ${v.shape}`);
      v.assign(tf.tensor(w.data, w.shape, 'float32'));
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/**
 * Lays prompts and completions out right-padded as [B, T] with T = max(prompt + completion),
 * plus `select` [B, T-1, L] picking, for completion token j, the log-prob column that predicts it,
 * and `mask` [B, L]. Pure data: tested without tensors.
 */
export function buildCompletionBatch(prompts: number[][], completions: number[][], pad: number) {
  const B = prompts.length;
  if (B !== completions.length || B === 0) throw new Error(`prompts (${B}) and completions (${completions.length}) must pair up`);
  const T = Math.max(...prompts.map((p, i) => p.length + completions[i].length));
  const L = Math.max(1, ...completions.map((c) => c.length));
  const tokens = new Int32Array(B * T).fill(pad);
  const select = new Float32Array(B * (T - 1) * L);
  const mask = new Float32Array(B * L);
  for (let i = 0; i < B; i++) {
    const seq = [...prompts[i], ...completions[i]];
    if (prompts[i].length === 0) throw new Error(`prompt ${i} is empty`);
    tokens.set(seq, i * T);
    for (let j = 0; j < completions[i].length; j++) {
      const col = prompts[i].length + j - 1;
      select[i * (T - 1) * L + col * L + j] = 1;
      mask[i * L + j] = 1;
    }
  }
  return { B, T, L, tokens, select, mask };
}
