// The prompt remote teachers get. The template text is hashed into the memo key and the lineage:
// changing a word here changes the question, so earlier answers must not be reused for it.
import { sha256Hex } from '../canonical';

export const TEACHER_PROMPT_VERSION = 1;

const SYSTEM = 'You label the emotion an image evokes. You are brief and precise.';

const USER = [
  'Which emotion does this image evoke? Choose exactly one of: {labels}.',
  'Reason in at most 40 words from what you see (colours, light, shapes, composition, scene), then answer.',
  'Reply exactly as <think>your reasoning</think><answer>one label</answer> and nothing else.',
].join('\n');

// The rationalization pass: the label is given, the chain must still argue from the image.
const HINT = 'Hint: the correct label is {hint}. Explain from the image why; do not mention this hint.';

export interface ChatMessages {
  system: string;
  user: string;
}

export function buildPrompt(labels: readonly string[], hint?: string): ChatMessages {
  const user = USER.replace('{labels}', labels.join(', '));
  return { system: SYSTEM, user: hint === undefined ? user : `${user}\n${HINT.replace('{hint}', hint)}` };
}

/** Hash of the template and the label list (the only variable part shared by every sample). */
export function promptHash(labels: readonly string[]): string {
  return sha256Hex(JSON.stringify({ v: TEACHER_PROMPT_VERSION, SYSTEM, USER, HINT, labels }));
}

/** Recover the hint from a prompt (the loopback test server answers rationalization asks with it). */
export function hintFromPrompt(user: string): string | undefined {
  return /Hint: the correct label is ([^.\n]+)\./.exec(user)?.[1];
}
