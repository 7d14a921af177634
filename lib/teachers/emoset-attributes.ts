// Turning recorded attributes into the task's seven rule attributes. Synthetic samples carry them
// directly. EmoSet samples carry brightness, colorfulness, scene, object, facial_expression and
// human_action; a simple, documented mapping (docs/teachers.md) turns those into the same seven,
// leaving an attribute unclear (null) when the annotation says nothing about it:
//   light   ← brightness ≥ 0.5 bright, else dark
//   colour  ← colorfulness ≥ 0.5 vivid, else muted
//   palette ← facial_expression: happy/surprise warm; sad/angry/fear/disgust cool
//   edges   ← facial_expression: angry/fear/surprise/disgust angular; happy/sad/neutral round
//   layout  ← human_action: joyful/upward verbs rising; sorrowful/downward verbs sinking
//   clutter ← number of annotated objects: ≥ 3 busy, 1–2 sparse
//   scale   ← scene: open/vast places (mountain, sea, sky, stadium…) large; anything else small
import { ATTRIBUTE_NAMES, ATTRIBUTES } from '../ml/data/synthetic-rules';
import type { AttributeName } from '../ml/data/synthetic-rules';

export type PartialAttributes = Partial<Record<AttributeName, string | null>>;

const WARM_FACES = /happ|joy|smil|surpris/;
const COOL_FACES = /sad|ang|fear|disgust|scar/;
const ANGULAR_FACES = /ang|fear|scar|surpris|disgust/;
const ROUND_FACES = /happ|joy|smil|sad|neutral|calm/;
const RISING_ACTIONS = /smil|laugh|danc|jump|play|celebrat|hug|cheer|fly|climb|run/;
const SINKING_ACTIONS = /cry|weep|mourn|lie|lying|sit|fall|kneel|beg|fight|scream/;
const VAST_SCENES = /mountain|sea|ocean|beach|sky|canyon|desert|forest|stadium|cathedral|church|field|lake|valley|glacier|landscape|skyline|waterfall|coast|volcano|arena/;

function isSynthetic(attrs: Record<string, unknown>): boolean {
  return ATTRIBUTE_NAMES.some((n) => typeof attrs[n] === 'string');
}

function fromWords(text: unknown, yes: RegExp, no: RegExp, yesValue: string, noValue: string): string | null {
  if (typeof text !== 'string' || text === '') return null;
  const t = text.toLowerCase();
  if (yes.test(t)) return yesValue;
  if (no.test(t)) return noValue;
  return null;
}

function threshold(x: unknown, yes: string, no: string): string | null {
  return typeof x === 'number' && Number.isFinite(x) ? (x >= 0.5 ? yes : no) : null;
}

/** EmoSet annotations → the seven rule attributes (null = unclear). */
export function fromEmoSet(a: Record<string, unknown>): PartialAttributes {
  const objects = Array.isArray(a.object) ? a.object.length : typeof a.object === 'string' && a.object !== '' ? 1 : null;
  const scene = typeof a.scene === 'string' && a.scene !== '' ? (VAST_SCENES.test(a.scene.toLowerCase()) ? 'large' : 'small') : null;
  return {
    light: threshold(a.brightness, 'bright', 'dark'),
    colour: threshold(a.colorfulness, 'vivid', 'muted'),
    palette: fromWords(a.facial_expression, WARM_FACES, COOL_FACES, 'warm', 'cool'),
    edges: fromWords(a.facial_expression, ANGULAR_FACES, ROUND_FACES, 'angular', 'round'),
    layout: fromWords(a.human_action, RISING_ACTIONS, SINKING_ACTIONS, 'rising', 'sinking'),
    clutter: objects === null ? null : objects >= 3 ? 'busy' : 'sparse',
    scale: scene,
  };
}

/** The rule attributes of a sample; values a rule does not know become unclear rather than an error. */
export function toRuleAttributes(attrs: Record<string, unknown>): PartialAttributes {
  if (!isSynthetic(attrs)) return fromEmoSet(attrs);
  const out: PartialAttributes = {};
  for (const n of ATTRIBUTE_NAMES) {
    const v = attrs[n];
    out[n] = typeof v === 'string' && ATTRIBUTES[n].levels.some((l) => l.value === v) ? v : null;
  }
  return out;
}
