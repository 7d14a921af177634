// The built-in `attributes` teacher: writes the chain from the sample's recorded attributes, as an
// annotated dataset's attributes would let a large model do. It reasons with the task's own rules
// (lib/ml/data/synthetic-rules.ts: the same tables the generator renders), so its answer is the
// attribute-implied label — wrong exactly where the dataset's label noise replaced it, which is
// what verification is for. Optional `noise`: with that probability it misreads one attribute so
// that its answer changes (seeded by stage seed, sample and try), and reasons consistently from
// the misreading: noise is the probability of a wrong answer on a clean sample.
import { sha256Hex } from '../canonical';
import { rngFor } from '../rng';
import {
  ATTRIBUTE_NAMES, ATTRIBUTES, allAttributeCombinations, compactRationale, factorsOfLabel, isLabel, reasonFromAttributes,
} from '../ml/data/synthetic-rules';
import type { AttributeName } from '../ml/data/synthetic-rules';
import { canonicalCompletion } from './parse';
import { toRuleAttributes } from './emoset-attributes';
import type { PartialAttributes } from './emoset-attributes';
import type { AskOptions, Teacher, TeacherReply, TeacherSample } from './types';
import type { JsonObject } from '../canonical';
import type { Rng } from '../rng';

/** Bump when the wording or reasoning of the chains changes (part of the memo key via promptHash). */
export const ATTRIBUTE_TEACHER_VERSION = 2;

export interface AttributeTeacherParams {
  id?: string;
  /** Probability of a wrong answer per ask, by misreading one decisive attribute (default 0). */
  noise?: number;
}

export class AttributeTeacher implements Teacher {
  readonly id: string;
  readonly identity: JsonObject;
  readonly promptHash: string;
  readonly concurrency = 64;
  private readonly noise: number;

  constructor(params: AttributeTeacherParams, private readonly seed: number) {
    this.id = params.id ?? 'attributes';
    this.noise = params.noise ?? 0;
    if (!(this.noise >= 0 && this.noise <= 1)) throw new RangeError(`teacher ${this.id}: noise must be in [0, 1] (got ${this.noise})`);
    this.promptHash = sha256Hex(JSON.stringify({ teacher: 'attributes', v: ATTRIBUTE_TEACHER_VERSION }));
    this.identity = { type: 'attributes', id: this.id, noise: this.noise, seed: this.noise > 0 ? seed : null, promptHash: this.promptHash };
  }

  async ask(sample: TeacherSample, opts: AskOptions): Promise<TeacherReply> {
    const rng = rngFor(this.seed, 'attributes-teacher', this.id, sample.imageSha256, opts.tryIndex);
    let attrs = toRuleAttributes(sample.attributes);
    if (this.noise > 0 && rng.next() < this.noise) attrs = misread(attrs, rng);
    return { text: opts.hint !== undefined && isLabel(opts.hint) ? rationalize(attrs, opts.hint) : explain(attrs, rng) };
  }
}

/**
 * A perception error that changes the answer: flip one clear attribute whose other level changes
 * the rule's label (the scale attribute always does, so complete attributes always have one).
 */
function misread(attrs: PartialAttributes, rng: Rng): PartialAttributes {
  const flip = (name: AttributeName): PartialAttributes =>
    ({ ...attrs, [name]: ATTRIBUTES[name].levels.find((l) => l.value !== attrs[name])?.value ?? attrs[name] });
  const label = reasonFromAttributes(attrs).label;
  const clear = ATTRIBUTE_NAMES.filter((n) => attrs[n] != null);
  const decisive = clear.filter((n) => reasonFromAttributes(flip(n)).label !== label);
  const pool = decisive.length > 0 ? decisive : clear;
  return pool.length === 0 ? attrs : flip(pool[rng.int(pool.length)]);
}

/** The chain for the attributes; when unclear ones leave the rule open, a seeded guess among the labels they allow. */
export function explain(attrs: PartialAttributes, rng: Rng): string {
  const r = reasonFromAttributes(attrs);
  const chain = compactRationale(attrs);
  if (r.label !== null) return canonicalCompletion(chain, r.label);
  const options = [...new Set(completionsOf(attrs).map((a) => reasonFromAttributes(a).label as string))].sort();
  const guess = options[rng.int(options.length)];
  return canonicalCompletion(`${chain.replace(/: undecided\.$/, '')}: unclear, most likely ${guess}.`, guess);
}

/** Every complete attribute set that agrees with the clear attributes. */
function completionsOf(attrs: PartialAttributes): Array<Record<AttributeName, string>> {
  return allAttributeCombinations().filter((c) => ATTRIBUTE_NAMES.every((n) => attrs[n] == null || attrs[n] === c[n]));
}

/**
 * Rationalization: the label is given. The chain keeps the observed cues, re-weighs each factor the
 * label disagrees with ("on balance"), and states the hint in a sentence of its own — which the
 * stage strips, so the kept chain argues from the image, not from the hint.
 */
export function rationalize(attrs: PartialAttributes, hint: string): string {
  const want = factorsOfLabel(hint as Parameters<typeof factorsOfLabel>[0]);
  const r = reasonFromAttributes(attrs);
  let chain = compactRationale(attrs)
    .replace(/(positive|negative|undecided) valence\./, (m, v: string) => (v === want.valence ? m : `${want.valence} valence on balance.`))
    .replace(/(high|low|undecided) arousal\./, (m, v: string) => (v === want.arousal ? m : `${want.arousal} arousal on balance.`));
  if (r.steps[2].decision !== want.scale) chain = chain.replace(/: [a-z]+\.$/, `, ${want.scale} overall: ${hint}.`);
  else chain = chain.replace(/: [a-z]+\.$/, `: ${hint}.`);
  return canonicalCompletion(`${chain} The given label is ${hint}.`, hint);
}
