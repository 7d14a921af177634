// Model sizes and the arithmetic about them (parameter and FLOP counts), kept apart from the
// tensors so the bench and the docs can use them without building a model.
// Exports: ModelConfig, ModelSize, MODEL_SIZES, modelConfig(size, vocabSize), paramShapes(config),
//          countParams(config), trainFlopsPerStep(config, batch, textLen), forwardFlops(...).

export type ModelSize = 'tiny' | 'small' | 'base' | 'large';
export const MODEL_SIZES: readonly ModelSize[] = ['tiny', 'small', 'base', 'large'];

export interface TowerConfig {
  dim: number;
  layers: number;
  heads: number;
  /** Hidden width of the SwiGLU MLP. */
  mlp: number;
}

export interface ModelConfig {
  size: ModelSize;
  vocabSize: number;
  imageSize: number;
  patchSize: number;
  channels: number;
  vision: TowerConfig;
  text: TowerConfig;
  /** Longest sequence (image tokens + text) the RoPE tables cover. */
  maxSeq: number;
  ropeBase: number;
  normEps: number;
}

const TOWERS: Record<ModelSize, { vision: TowerConfig; text: TowerConfig }> = {
  tiny: { vision: { dim: 64, layers: 1, heads: 2, mlp: 128 }, text: { dim: 64, layers: 3, heads: 2, mlp: 160 } },
  small: { vision: { dim: 96, layers: 2, heads: 4, mlp: 192 }, text: { dim: 128, layers: 6, heads: 4, mlp: 352 } },
  base: { vision: { dim: 192, layers: 4, heads: 6, mlp: 512 }, text: { dim: 256, layers: 8, heads: 8, mlp: 704 } },
  large: { vision: { dim: 384, layers: 6, heads: 6, mlp: 1024 }, text: { dim: 512, layers: 12, heads: 8, mlp: 1408 } },
};

/** The config for a named size; vocabulary size comes from the tokenizer. */
export function modelConfig(size: ModelSize, vocabSize: number, imageSize = 32): ModelConfig {
  const t = TOWERS[size];
  if (!t) throw new Error(`unknown model size ${size}; use one of ${MODEL_SIZES.join(', ')}`);
  return {
    size, vocabSize, imageSize, patchSize: 8, channels: 3,
    vision: { ...t.vision }, text: { ...t.text },
    maxSeq: 512, ropeBase: 10000, normEps: 1e-5,
  };
}

export function numPatches(c: ModelConfig): number {
  if (c.imageSize % c.patchSize !== 0) throw new Error(`imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  return (c.imageSize / c.patchSize) ** 2;
}

function blockShapes(prefix: string, t: TowerConfig): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [];
  for (let l = 0; l < t.layers; l++) {
    const p = `${prefix}.${l}`;
    out.push([`${p}.norm1`, [t.dim]], [`${p}.wqkv`, [t.dim, 3 * t.dim]], [`${p}.wo`, [t.dim, t.dim]],
      [`${p}.norm2`, [t.dim]], [`${p}.w13`, [t.dim, 2 * t.mlp]], [`${p}.w2`, [t.mlp, t.dim]]);
  }
  return out;
}

/** Every trainable tensor, in a fixed order (the order of initialization and of checkpoints). */
export function paramShapes(c: ModelConfig): Array<[string, number[]]> {
  const patchIn = c.patchSize * c.patchSize * c.channels;
  const P = numPatches(c);
  return [
    ['vision.patch.w', [patchIn, c.vision.dim]], ['vision.patch.b', [c.vision.dim]], ['vision.pos', [P, c.vision.dim]],
    ...blockShapes('vision.block', c.vision),
    ['vision.norm', [c.vision.dim]],
    ['proj.w1', [c.vision.dim, c.text.dim]], ['proj.w2', [c.text.dim, c.text.dim]],
    ['text.embed', [c.vocabSize, c.text.dim]],
    ...blockShapes('text.block', c.text),
    ['text.norm', [c.text.dim]],
  ];
}

export function countParams(c: ModelConfig): number {
  return paramShapes(c).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
}

function towerFlops(t: TowerConfig, tokens: number, seq: number, causal: boolean): number {
  const matmul = 2 * tokens * (t.dim * 3 * t.dim + t.dim * t.dim + t.dim * 2 * t.mlp + t.mlp * t.dim);
  // scores and weighted values: 2 matmuls of seq×seq×dim per sequence (half of it under a causal mask
  // is still computed, so count it all).
  const attn = 2 * 2 * (tokens / seq) * seq * seq * t.dim;
  void causal;
  return t.layers * (matmul + attn);
}

/** FLOPs of one forward pass over `batch` images and text of length `textLen`. */
export function forwardFlops(c: ModelConfig, batch: number, textLen: number): number {
  const P = numPatches(c);
  const patchIn = c.patchSize * c.patchSize * c.channels;
  const seq = P + textLen;
  const vision = 2 * batch * P * patchIn * c.vision.dim + towerFlops(c.vision, batch * P, P, false);
  const proj = 2 * batch * P * (c.vision.dim * c.text.dim + c.text.dim * c.text.dim);
  const text = towerFlops(c.text, batch * seq, seq, true);
  const head = 2 * batch * textLen * c.text.dim * c.vocabSize;
  return vision + proj + text + head;
}

/** Forward + backward ≈ 3× forward (the backward pass does two matmuls per forward matmul). */
export function trainFlopsPerStep(c: ModelConfig, batch: number, textLen: number): number {
  return 3 * forwardFlops(c, batch, textLen);
}
