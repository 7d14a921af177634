// Input binding at the spec level (stage ids as written): which need feeds which input of each
// stage. A direct need of the right kind wins; otherwise the nearest ancestor that produces it
// (breadth-first over `needs`), e.g. `grpo_fmt: needs [sft]` gets its dataset from `data` through
// sft. Ties are errors, never guesses. The compiler maps these bindings onto matrix variants.
import { inputSlots, outputOf, type ArtifactKind, type SpecKind } from './kinds';

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
  return ancestorLevels(stages, id).some((l) => l.some((s) => outputOf(stages[s].kind) === 'cot-dataset'));
}

const A: Record<ArtifactKind, string> = { dataset: 'a dataset', 'cot-dataset': 'a cot-dataset', model: 'a model', 'eval-report': 'an eval-report' };

function bindOne(stages: Record<string, BaseStage>, id: string, slot: { input: string; kind: ArtifactKind }): BaseBinding | BindProblem {
  const levels = ancestorLevels(stages, id);
  for (let d = 0; d < levels.length; d++) {
    const producers = levels[d].filter((s) => outputOf(stages[s].kind) === slot.kind);
    if (producers.length === 1) return { input: slot.input, from: producers[0], kind: slot.kind, distance: d + 1 };
    if (producers.length > 1) {
      const where = d === 0 ? 'its needs' : `${d + 1} steps up`;
      return { stage: id, severity: 'error', message: `input '${slot.input}' is ambiguous: ${producers.map((p) => `'${p}'`).join(' and ')} each produce ${A[slot.kind]} (${where})`,
        hint: d === 0 ? `keep only one of them in needs` : `add the one you mean to needs`, need: undefined };
    }
  }
  const kind = stages[id].kind;
  const fix: Record<ArtifactKind, string> = { dataset: 'a dataset stage', 'cot-dataset': 'a cot stage', model: 'a pretrain, sft or grpo stage', 'eval-report': 'an eval stage' };
  return { stage: id, severity: 'error', message: `${kind} stage '${id}' needs ${A[slot.kind]} for input '${slot.input}', but none of its needs or their ancestors produces one`,
    hint: `add ${fix[slot.kind]} to needs` };
}

/** Eval: every direct need that produces a model is one `models` binding, in needs order. */
function bindModels(stages: Record<string, BaseStage>, id: string, out: BaseBinding[], problems: BindProblem[]): void {
  const needs = stages[id].needs;
  needs.forEach((n, i) => {
    if (!stages[n]) return;
    const k = outputOf(stages[n].kind);
    if (k === 'model') out.push({ input: 'models', from: n, kind: 'model', distance: 1 });
    else if (k !== 'dataset') {
      problems.push({ stage: id, need: i, severity: 'error', message: `eval '${id}' needs '${n}', which produces ${A[k]}, not a model`,
        hint: `name model stages (pretrain, sft, grpo) in needs; remove '${n}'` });
    }
  });
  if (!out.some((b) => b.input === 'models')) {
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
      if (slot.many) { bindModels(stages, id, out, problems); continue; }
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
