// The stage kinds and what each reads and writes (docs/CONTRACTS.md "Stage kinds"): the output
// artifact kind and the typed inputs. Shared by the spec's semantic checks and the compiler so the
// two never disagree about which upstream output feeds which input. No imports: lib/plan/types.ts
// (read by workflows/) re-exports the kind lists from here.
// Two model artifact kinds exist: `model` (the project's TF.js VLM) and `hf-model` (a Hugging Face
// model dir, imported by a `model` stage or written by a `trainer: trl` stage). A stage's trainer
// decides which one it reads and writes, so a TF.js stage can never be fed a HF model or back.

export const STAGE_KINDS = ['dataset', 'pretrain', 'cot', 'sft', 'grpo', 'eval', 'model'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** What a stage writes. */
export const ARTIFACT_KINDS = ['dataset', 'cot-dataset', 'model', 'eval-report', 'hf-model'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Kinds a spec may name: the plan kinds plus `clgrpo`, an alias of grpo with ClipLow defaults. */
export type SpecKind = StageKind | 'clgrpo';

/** The trainers of sft, grpo and eval (docs/trainers.md): the TF.js VLM (default) or HF TRL in Python. */
export const TRAINERS = ['tfjs', 'trl'] as const;
export type Trainer = (typeof TRAINERS)[number];

/** CLGRPO = GRPO with the upper clip bound lowered (CLGRPO.md "Our reading"). */
export const CLGRPO_DEFAULTS = { clip: { low: 0.2, high: 0.1 }, iterations: 2 } as const;

export function planKind(kind: SpecKind): StageKind {
  return kind === 'clgrpo' ? 'grpo' : kind;
}

/** The output of each kind with its default trainer (tfjs); `outputOf` gives the trainer-aware one. */
export const OUTPUT_OF: Record<StageKind, ArtifactKind> = {
  dataset: 'dataset',
  pretrain: 'model',
  cot: 'cot-dataset',
  sft: 'model',
  grpo: 'model',
  eval: 'eval-report',
  model: 'hf-model',
};

/** The trainer a stage's params name (absent = tfjs). Only sft, grpo and eval have one. */
export function trainerOf(params: Record<string, unknown> | undefined): Trainer {
  return params?.trainer === 'trl' ? 'trl' : 'tfjs';
}

/** The model artifact kind a trainer reads and writes. */
export function modelKindOf(trainer: Trainer): 'model' | 'hf-model' {
  return trainer === 'trl' ? 'hf-model' : 'model';
}

export function isModelKind(kind: ArtifactKind): kind is 'model' | 'hf-model' {
  return kind === 'model' || kind === 'hf-model';
}

export function outputOf(kind: SpecKind, params?: Record<string, unknown>): ArtifactKind {
  const k = planKind(kind);
  if (k === 'sft' || k === 'grpo') return modelKindOf(trainerOf(params));
  return OUTPUT_OF[k];
}

/** One named input of a stage and the artifact kind that must feed it. */
export interface InputSlot { input: string; kind: ArtifactKind; many?: true }

/**
 * The inputs of a stage. `hasCotUpstream` decides sft's default target (cot when a cot stage is
 * upstream, else label); params are the stage's params as written.
 */
export function inputSlots(kind: SpecKind, params: Record<string, unknown>, hasCotUpstream: boolean): InputSlot[] {
  const k = planKind(kind);
  const model = modelKindOf(trainerOf(params));
  switch (k) {
    case 'dataset': return [];
    case 'model': return [];
    case 'pretrain': return typeof params.init === 'string' ? [] : [{ input: 'dataset', kind: 'dataset' }];
    case 'cot': return [{ input: 'dataset', kind: 'dataset' }];
    case 'sft': return [{ input: 'model', kind: model },
      { input: 'data', kind: sftTarget(params, hasCotUpstream) === 'cot' ? 'cot-dataset' : 'dataset' }];
    case 'grpo': return [{ input: 'model', kind: model }, { input: 'dataset', kind: 'dataset' }];
    case 'eval': return [{ input: 'models', kind: model, many: true }, { input: 'dataset', kind: 'dataset' }];
    default: {
      const never: never = k;
      throw new Error(`unknown stage kind ${String(never)}`);
    }
  }
}

export function sftTarget(params: Record<string, unknown>, hasCotUpstream: boolean): 'cot' | 'label' {
  if (params.target === 'cot' || params.target === 'label') return params.target;
  return hasCotUpstream ? 'cot' : 'label';
}
