// AdamW with decoupled weight decay (Loshchilov & Hutter; PyTorch's order: decay, then the Adam
// step) and global-norm gradient clipping. State (moments, step count) is named by parameter so a
// checkpoint can save and restore it exactly. Weight decay applies to matrices only (rank ≥ 2),
// not to norm gains or biases.
// Exports: AdamW (apply, state, loadState, dispose), clipByGlobalNorm, globalNorm, AdamWOptions.
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay: number;
}

/** sqrt(Σ‖g‖²) over all gradients (a scalar tensor). */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Scales gradients by maxNorm / norm when norm > maxNorm. Returns new tensors (caller disposes)
 * and the norm before clipping.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  const normT = globalNorm(grads);
  const norm = normT.dataSync()[0];
  normT.dispose();
  if (!(maxNorm > 0) || !(norm > maxNorm)) return { grads: grads.map((g) => g.clone()), norm };
  const scale = maxNorm / (norm + 1e-6);
  return { grads: grads.map((g) => tf.mul(g, scale)), norm };
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates applied so far (bias correction uses step + 1). */
  step = 0;
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();

  constructor(o: AdamWOptions) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay;
  }

  private slot(map: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = map.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      map.set(name, s);
    }
    return s;
  }

  /** One update of every named variable with its gradient at learning rate lr. */
  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    const t = this.step + 1;
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`no gradient for ${name}`);
      const m = this.slot(this.m, name, p);
      const v = this.slot(this.v, name, p);
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const decayed = p.shape.length >= 2 && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), this.eps));
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
    this.step = t;
  }

  /** Moments by name (`m.<param>`, `v.<param>`) as copies, for checkpoints. */
  state(): { step: number; tensors: Map<string, tf.Tensor> } {
    const tensors = new Map<string, tf.Tensor>();
    for (const [n, m] of this.m) tensors.set(`m.${n}`, m.clone());
    for (const [n, v] of this.v) tensors.set(`v.${n}`, v.clone());
    return { step: this.step, tensors };
  }

  loadState(step: number, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
    this.dispose();
    this.step = step;
    for (const [key, t] of tensors) {
      const [kind, ...rest] = key.split('.');
      const map = kind === 'm' ? this.m : kind === 'v' ? this.v : undefined;
      if (!map) throw new Error(`optimizer state has an unknown tensor ${key}`);
      map.set(rest.join('.'), tf.variable(tf.tensor(t.data, t.shape, 'float32'), false));
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
