// The stage kinds and what each reads and writes (docs/CONTRACTS.md "Stage kinds"): the output
// artifact kind and the typed inputs. Shared by the spec's semantic checks and the compiler so the
// two never disagree about which upstream output feeds which input. No imports: lib/plan/types.ts
// (read by workflows/) re-exports the kind lists from here.

export const STAGE_KINDS = ['dataset', 'pretrain', 'cot', 'sft', 'grpo', 'eval'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** What a stage writes. */
export const ARTIFACT_KINDS = ['dataset', 'cot-dataset', 'model', 'eval-report'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Kinds a spec may name: the plan kinds plus `clgrpo`, an alias of grpo with ClipLow defaults. */
export type SpecKind = StageKind | 'clgrpo';

/** CLGRPO = GRPO with the upper clip bound lowered (CLGRPO.md "Our reading"). */
export const CLGRPO_DEFAULTS = { clip: { low: 0.2, high: 0.1 }, iterations: 2 } as const;

export function planKind(kind: SpecKind): StageKind {
  return kind === 'clgrpo' ? 'grpo' : kind;
}

export const OUTPUT_OF: Record<StageKind, ArtifactKind> = {
  dataset: 'dataset',
  pretrain: 'model',
  cot: 'cot-dataset',
  sft: 'model',
  grpo: 'model',
  eval: 'eval-report',
};

export function outputOf(kind: SpecKind): ArtifactKind {
  return OUTPUT_OF[planKind(kind)];
}

/** One named input of a stage and the artifact kind that must feed it. */
export interface InputSlot { input: string; kind: ArtifactKind; many?: true }

/**
 * The inputs of a stage. `hasCotUpstream` decides sft's default target (cot when a cot stage is
 * upstream, else label); params are the stage's params as written.
 */
export function inputSlots(kind: SpecKind, params: Record<string, unknown>, hasCotUpstream: boolean): InputSlot[] {
  const k = planKind(kind);
  switch (k) {
    case 'dataset': return [];
    case 'pretrain': return typeof params.init === 'string' ? [] : [{ input: 'dataset', kind: 'dataset' }];
    case 'cot': return [{ input: 'dataset', kind: 'dataset' }];
    case 'sft': return [{ input: 'model', kind: 'model' },
      { input: 'data', kind: sftTarget(params, hasCotUpstream) === 'cot' ? 'cot-dataset' : 'dataset' }];
    case 'grpo': return [{ input: 'model', kind: 'model' }, { input: 'dataset', kind: 'dataset' }];
    case 'eval': return [{ input: 'models', kind: 'model', many: true }, { input: 'dataset', kind: 'dataset' }];
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
