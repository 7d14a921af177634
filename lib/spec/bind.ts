// Input binding at the spec level (stage ids as written): which need feeds which input of each
// stage. A direct need of the right kind wins; otherwise the nearest ancestor that produces it
// (breadth-first over `needs`), e.g. `grpo_fmt: needs [sft]` gets its dataset from `data` through
// sft. Ties are errors, never guesses. The compiler maps these bindings onto matrix variants.
import { inputSlots, isModelKind, outputOf, trainerOf, type ArtifactKind, type SpecKind } from './kinds';

export interface BaseStage { kind: SpecKind; needs: string[]; params: Record<string, unknown> }

export interface BaseBinding { input: string; from: string; kind: ArtifactKind; distance: number }

export interface BindProblem {
  stage: string;
  /** Index into the stage's needs when the problem is about one need. */
  need?: number;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

/** Ancestors of a stage grouped by distance (1 = direct needs); unknown ids and cycles are skipped. */
export function ancestorLevels(stages: Record<string, BaseStage>, id: string): string[][] {
  const seen = new Set<string>([id]);
  const levels: string[][] = [];
  let frontier = [id];
  while (frontier.length) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const n of stages[s]?.needs ?? []) {
        if (!seen.has(n) && stages[n]) { seen.add(n); next.push(n); }
      }
    }
    if (next.length) levels.push(next);
    frontier = next;
  }
  return levels;
}

export function hasCotUpstream(stages: Record<string, BaseStage>, id: string): boolean {
  return ancestorLevels(stages, id).some((l) => l.some((s) => producedBy(stages, s) === 'cot-dataset'));
}

/** What a stage of the spec writes (its trainer decides between a TF.js model and a HF model). */
function producedBy(stages: Record<string, BaseStage>, id: string): ArtifactKind {
  return outputOf(stages[id].kind, stages[id].params);
}

const A: Record<ArtifactKind, string> = { dataset: 'a dataset', 'cot-dataset': 'a cot-dataset', model: 'a TF.js model', 'eval-report': 'an eval-report',
  'hf-model': 'a Hugging Face model (hf-model)' };

/** A stage fed the other model kind than its trainer reads: said as such, with both fixes. */
function trainerMismatch(stages: Record<string, BaseStage>, id: string, from: string, need?: number): BindProblem {
  const st = stages[id];
  const trainer = trainerOf(st.params);
  const got = producedBy(stages, from);
  const message = `${st.kind} stage '${id}' uses trainer ${trainer}, which reads ${A[trainer === 'trl' ? 'hf-model' : 'model']}, but '${from}' produces ${A[got]}`;
  const hint = trainer === 'trl'
    ? `feed it a model stage (kind: model, params: {path: <hf model dir>}) or a trl stage, or set trainer: tfjs on '${id}'`
    : `set trainer: trl on '${id}' to train the Hugging Face model, or feed it a pretrain, sft or grpo stage with trainer tfjs`;
  return { stage: id, need, severity: 'error', message, hint };
}

function bindOne(stages: Record<string, BaseStage>, id: string, slot: { input: string; kind: ArtifactKind }): BaseBinding | BindProblem {
  const levels = ancestorLevels(stages, id);
  for (let d = 0; d < levels.length; d++) {
    const producers = levels[d].filter((s) => producedBy(stages, s) === slot.kind);
    if (producers.length === 1) return { input: slot.input, from: producers[0], kind: slot.kind, distance: d + 1 };
    if (producers.length > 1) {
      const where = d === 0 ? 'its needs' : `${d + 1} steps up`;
      return { stage: id, severity: 'error', message: `input '${slot.input}' is ambiguous: ${producers.map((p) => `'${p}'`).join(' and ')} each produce ${A[slot.kind]} (${where})`,
        hint: d === 0 ? `keep only one of them in needs` : `add the one you mean to needs`, need: undefined };
    }
  }
  if (isModelKind(slot.kind)) {
    // The other model kind upstream: a trainer mismatch, which says more than "no model".
    const other = levels.flat().find((s) => { const k = producedBy(stages, s); return isModelKind(k) && k !== slot.kind; });
    if (other !== undefined) {
      const direct = stages[id].needs.indexOf(other);
      return trainerMismatch(stages, id, other, direct >= 0 ? direct : undefined);
    }
  }
  const kind = stages[id].kind;
  const fix: Record<ArtifactKind, string> = { dataset: 'a dataset stage', 'cot-dataset': 'a cot stage', model: 'a pretrain, sft or grpo stage',
    'eval-report': 'an eval stage', 'hf-model': 'a model stage (kind: model) or a trl sft/grpo stage' };
  return { stage: id, severity: 'error', message: `${kind} stage '${id}' needs ${A[slot.kind]} for input '${slot.input}', but none of its needs or their ancestors produces one`,
    hint: `add ${fix[slot.kind]} to needs` };
}

/** Eval: every direct need that produces a model of its trainer's kind is one `models` binding, in needs order. */
function bindModels(stages: Record<string, BaseStage>, id: string, slot: { kind: ArtifactKind }, bound: BaseBinding[], problems: BindProblem[]): void {
  const needs = stages[id].needs;
  let mismatched = false;
  needs.forEach((n, i) => {
    if (!stages[n]) return;
    const k = producedBy(stages, n);
    if (k === slot.kind) bound.push({ input: 'models', from: n, kind: k, distance: 1 });
    else if (isModelKind(k)) { mismatched = true; problems.push(trainerMismatch(stages, id, n, i)); }
    else if (k !== 'dataset') {
      problems.push({ stage: id, need: i, severity: 'error', message: `eval '${id}' needs '${n}', which produces ${A[k]}, not a model`,
        hint: `name model stages (pretrain, sft, grpo) in needs; remove '${n}'` });
    }
  });
  if (!bound.some((b) => b.input === 'models') && !mismatched) {
    problems.push({ stage: id, severity: 'error', message: `eval '${id}' has no model to evaluate: none of its needs produces a model`,
      hint: 'add the model stages to evaluate to needs' });
  }
}

export function bindInputs(stages: Record<string, BaseStage>): { bindings: Map<string, BaseBinding[]>; problems: BindProblem[] } {
  const bindings = new Map<string, BaseBinding[]>();
  const problems: BindProblem[] = [];
  for (const [id, st] of Object.entries(stages)) {
    const out: BaseBinding[] = [];
    for (const slot of inputSlots(st.kind, st.params, hasCotUpstream(stages, id))) {
      if (slot.many) { bindModels(stages, id, slot, out, problems); continue; }
      const b = bindOne(stages, id, slot);
      if ('from' in b) out.push(b); else problems.push(b);
    }
    bindings.set(id, out);
    if (problems.some((p) => p.stage === id && p.severity === 'error')) continue; // the error says it better
    st.needs.forEach((n, i) => {
      if (!stages[n] || n === id) return;
      const reach = new Set([n, ...ancestorLevels(stages, n).flat()]);
      if (!out.some((b) => reach.has(b.from))) {
        problems.push({ stage: id, need: i, severity: 'warning', message: `'${n}' feeds no input of ${st.kind} stage '${id}' (it only orders the stages)`,
          hint: 'remove it from needs unless the order matters' });
      }
    });
  }
  return { bindings, problems };
}
