// The rules of the synthetic "abstract semantic recognition" task that stands in for EmoSet
// (CLGRPO.md "Our task"). Seven binary visual attributes are rendered into an image; the emotion
// label follows from them by three small majority/lookup rules:
//   valence  = positive when ≥ 2 of { warm palette, bright light, rising layout }
//   arousal  = high     when ≥ 2 of { angular edges, busy clutter, vivid colour }
//   split    = large or small forms pick one of the two emotions of the (valence, arousal) quadrant.
// The generator (synthetic.ts), the attribute teacher (lib/teachers) and the docs all read these
// tables, so the rule the images encode and the rule the teacher reasons with cannot drift apart.
// Pure data and functions: no I/O, no randomness.

/** The 8 EmoSet classes, in EmoSet's order; labelId is the index here. */
export const LABELS = ['amusement', 'awe', 'contentment', 'excitement', 'anger', 'disgust', 'fear', 'sadness'] as const;
export type Label = (typeof LABELS)[number];

export interface AttributeLevel {
  value: string;
  /** Short English phrase used in captions and chains ("warm colours"). */
  phrase: string;
  /** Whether this level is the cue that counts towards its factor (positive valence / high arousal / large). */
  cue: boolean;
}

export interface AttributeSpec {
  name: AttributeName;
  /** Which factor of the rule the attribute feeds. */
  factor: Factor;
  /** How the renderer shows it (for docs and prompts). */
  visual: string;
  levels: readonly [AttributeLevel, AttributeLevel];
}

export const ATTRIBUTE_NAMES = ['palette', 'light', 'layout', 'edges', 'clutter', 'colour', 'scale'] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];
export type Factor = 'valence' | 'arousal' | 'split';

export const ATTRIBUTES: Readonly<Record<AttributeName, AttributeSpec>> = {
  palette: { name: 'palette', factor: 'valence', visual: 'hue of the shapes and background: reds/oranges/yellows vs blues/teals/violets',
    levels: [{ value: 'warm', phrase: 'warm colours', cue: true }, { value: 'cool', phrase: 'cool colours', cue: false }] },
  light: { name: 'light', factor: 'valence', visual: 'overall brightness of the background and shapes',
    levels: [{ value: 'bright', phrase: 'bright light', cue: true }, { value: 'dark', phrase: 'dark light', cue: false }] },
  layout: { name: 'layout', factor: 'valence', visual: 'shapes gathered in the upper half (rising) or the lower half (sinking)',
    levels: [{ value: 'rising', phrase: 'rising forms', cue: true }, { value: 'sinking', phrase: 'sinking forms', cue: false }] },
  edges: { name: 'edges', factor: 'arousal', visual: 'triangles, diamonds and stars (angular) vs circles and ellipses (round)',
    levels: [{ value: 'angular', phrase: 'angular edges', cue: true }, { value: 'round', phrase: 'round edges', cue: false }] },
  clutter: { name: 'clutter', factor: 'arousal', visual: 'many shapes (busy, 6-9) vs few (sparse, 2-3)',
    levels: [{ value: 'busy', phrase: 'busy scene', cue: true }, { value: 'sparse', phrase: 'sparse scene', cue: false }] },
  colour: { name: 'colour', factor: 'arousal', visual: 'saturation of the shapes: vivid vs muted',
    levels: [{ value: 'vivid', phrase: 'vivid colour', cue: true }, { value: 'muted', phrase: 'muted colour', cue: false }] },
  scale: { name: 'scale', factor: 'split', visual: 'size of the shapes: large vs small',
    levels: [{ value: 'large', phrase: 'large forms', cue: true }, { value: 'small', phrase: 'small forms', cue: false }] },
};

/** One value per attribute, e.g. { palette: 'warm', light: 'dark', ... }. */
export type SyntheticAttributes = Record<AttributeName, string>;

export type Valence = 'positive' | 'negative';
export type Arousal = 'high' | 'low';
export type Scale = 'large' | 'small';

/** (valence, arousal, scale) → label. Each quadrant holds two emotions told apart by scale. */
const LABEL_TABLE: Readonly<Record<Valence, Record<Arousal, Record<Scale, Label>>>> = {
  positive: { high: { large: 'excitement', small: 'amusement' }, low: { large: 'awe', small: 'contentment' } },
  negative: { high: { large: 'anger', small: 'fear' }, low: { large: 'disgust', small: 'sadness' } },
};

export function labelId(label: string): number {
  const i = (LABELS as readonly string[]).indexOf(label);
  if (i < 0) throw new RangeError(`unknown label "${label}" (labels: ${LABELS.join(', ')})`);
  return i;
}

export function isLabel(x: string): x is Label {
  return (LABELS as readonly string[]).includes(x);
}

/** Whether a value is the cue level of its attribute; throws on a value the attribute does not have. */
export function isCue(name: AttributeName, value: string): boolean {
  const level = ATTRIBUTES[name].levels.find((l) => l.value === value);
  if (!level) throw new RangeError(`attribute ${name} has no level "${value}" (levels: ${ATTRIBUTES[name].levels.map((l) => l.value).join(', ')})`);
  return level.cue;
}

export function phraseOf(name: AttributeName, value: string): string {
  const level = ATTRIBUTES[name].levels.find((l) => l.value === value);
  if (!level) throw new RangeError(`attribute ${name} has no level "${value}"`);
  return level.phrase;
}

export function attributesOf(factor: Factor): AttributeName[] {
  return ATTRIBUTE_NAMES.filter((n) => ATTRIBUTES[n].factor === factor);
}

/** Step of the reasoning for one factor: which cues were present and what they decide. */
export interface FactorStep {
  factor: Factor;
  /** The attributes that feed the factor with their recorded values; null = unclear. */
  evidence: Array<{ name: AttributeName; value: string | null; cue: boolean | null }>;
  cues: number;
  /** The decided value, or null when unclear attributes leave the vote open. */
  decision: string | null;
}

/** Majority of three cues; with unclear ones, decided only if the known cues already settle it. */
function vote(known: boolean[], total: number, yes: string, no: string): string | null {
  const cues = known.filter(Boolean).length;
  const need = Math.floor(total / 2) + 1;
  if (cues >= need) return yes;
  if (cues + (total - known.length) < need) return no;
  return null;
}

function factorStep(factor: Factor, attrs: Partial<Record<AttributeName, string | null>>, yes: string, no: string): FactorStep {
  const evidence = attributesOf(factor).map((name) => {
    const value = attrs[name] ?? null;
    return { name, value, cue: value === null ? null : isCue(name, value) };
  });
  const known = evidence.filter((e) => e.cue !== null).map((e) => e.cue as boolean);
  return { factor, evidence, cues: known.filter(Boolean).length, decision: vote(known, evidence.length, yes, no) };
}

/** The full reasoning: three factor steps and the label (null when unclear attributes leave it open). */
export interface Reasoning {
  steps: [FactorStep, FactorStep, FactorStep];
  label: Label | null;
}

/**
 * Reason from (possibly partial) recorded attributes to a label with the task's rules. A missing or
 * null attribute is "unclear"; the label is null when the clear attributes do not settle it.
 */
export function reasonFromAttributes(attrs: Partial<Record<AttributeName, string | null>>): Reasoning {
  const valence = factorStep('valence', attrs, 'positive', 'negative');
  const arousal = factorStep('arousal', attrs, 'high', 'low');
  const split = factorStep('split', attrs, 'large', 'small');
  const label = valence.decision && arousal.decision && split.decision
    ? LABEL_TABLE[valence.decision as Valence][arousal.decision as Arousal][split.decision as Scale]
    : null;
  return { steps: [valence, arousal, split], label };
}

/** The label a complete set of attributes implies (no noise). */
export function labelFromAttributes(attrs: SyntheticAttributes): Label {
  const r = reasonFromAttributes(attrs);
  if (!r.label) throw new RangeError(`incomplete attributes: ${JSON.stringify(attrs)}`);
  return r.label;
}

/** The (valence, arousal, scale) factors of a label: the inverse of the label table. */
export function factorsOfLabel(label: Label): { valence: Valence; arousal: Arousal; scale: Scale } {
  for (const valence of ['positive', 'negative'] as const) {
    for (const arousal of ['high', 'low'] as const) {
      for (const scale of ['large', 'small'] as const) {
        if (LABEL_TABLE[valence][arousal][scale] === label) return { valence, arousal, scale };
      }
    }
  }
  throw new RangeError(`unknown label "${label}"`);
}

/**
 * The classes a label is confused with: the three labels that differ from it in exactly one factor
 * (valence, arousal or scale). Label noise draws from these, so a noisy label is plausible.
 */
export function confusableLabels(label: Label): [Label, Label, Label] {
  const f = factorsOfLabel(label);
  const flipV: Valence = f.valence === 'positive' ? 'negative' : 'positive';
  const flipA: Arousal = f.arousal === 'high' ? 'low' : 'high';
  const flipS: Scale = f.scale === 'large' ? 'small' : 'large';
  return [LABEL_TABLE[flipV][f.arousal][f.scale], LABEL_TABLE[f.valence][flipA][f.scale], LABEL_TABLE[f.valence][f.arousal][flipS]];
}

/** Every complete attribute combination (2^7 = 128), in a fixed order. */
export function allAttributeCombinations(): SyntheticAttributes[] {
  const out: SyntheticAttributes[] = [];
  const n = ATTRIBUTE_NAMES.length;
  for (let bits = 0; bits < 1 << n; bits++) {
    const attrs = {} as SyntheticAttributes;
    ATTRIBUTE_NAMES.forEach((name, i) => { attrs[name] = ATTRIBUTES[name].levels[(bits >> i) & 1].value; });
    out.push(attrs);
  }
  return out;
}

/** Combinations grouped by the label they imply (16 per label): the generator samples from these. */
export const COMBINATIONS_BY_LABEL: Readonly<Record<Label, readonly SyntheticAttributes[]>> = (() => {
  const by = Object.fromEntries(LABELS.map((l) => [l, [] as SyntheticAttributes[]])) as Record<Label, SyntheticAttributes[]>;
  for (const attrs of allAttributeCombinations()) by[labelFromAttributes(attrs)].push(attrs);
  return by;
})();

const FACTOR_WORDS: Record<Factor, { cue: string; label: string }> = {
  valence: { cue: 'positive cues', label: 'valence' },
  arousal: { cue: 'energetic cues', label: 'arousal' },
  split: { cue: 'large', label: 'scale' },
};

/**
 * A compact chain of thought for complete or partial attributes, e.g.
 * "warm colours, dark light, rising forms: 2 of 3 positive cues, positive valence. ... large forms: excitement."
 * The attribute teacher may use it as is; unclear attributes read "unclear <name>".
 */
export function compactRationale(attrs: Partial<Record<AttributeName, string | null>>): string {
  const r = reasonFromAttributes(attrs);
  const parts = r.steps.map((s) => {
    const seen = s.evidence.map((e) => (e.value === null ? `unclear ${e.name}` : phraseOf(e.name, e.value))).join(', ');
    if (s.factor === 'split') return `${seen}`;
    const verdict = s.decision ?? 'undecided';
    return `${seen}: ${s.cues} of ${s.evidence.length} ${FACTOR_WORDS[s.factor].cue}, ${verdict} ${FACTOR_WORDS[s.factor].label}.`;
  });
  return `${parts[0]} ${parts[1]} ${parts[2]}: ${r.label ?? 'undecided'}.`;
}

/** The rules in plain English (for prompts to external teachers and for docs). */
export const RULES_TEXT = [
  'Valence is positive when at least 2 of these 3 cues are present: warm colours, bright light, rising forms; otherwise negative.',
  'Arousal is high when at least 2 of these 3 cues are present: angular edges, busy scene, vivid colour; otherwise low.',
  'Positive + high: excitement if the forms are large, amusement if small. Positive + low: awe if large, contentment if small.',
  'Negative + high: anger if large, fear if small. Negative + low: disgust if large, sadness if small.',
].join('\n');
