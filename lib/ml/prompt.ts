// The text side of the task: the prompts the model sees and the completion format it writes,
// `<think>reasoning</think><answer>label</answer>` followed by end of text (CLGRPO.md, our reading).
// Prompts are short on purpose (DESIGN §9): the label list is implied by the task, not spelled out.
// The image enters the model as its patch embeddings before the prompt; the prompt starts with the
// `<image>` token, which marks where the image ends.
// Exports: TASK_PROMPT, CAPTION_PROMPT, TASK_PROMPT_VERSION, cotCompletion, labelCompletion, parseCompletion,
//          encodePrompt, encodeCompletion, tokenizerCorpus, ParsedCompletion.
import type { Tokenizer } from './tokenizer';

/** Bump when a prompt or the completion format changes (part of lineage). */
export const TASK_PROMPT_VERSION = 1;
/** Asked in sft, grpo and eval: the same prompt for the CoT model and the label baseline. */
export const TASK_PROMPT = '<image>What emotion does this image evoke?';
/** Asked in caption pretraining. */
export const CAPTION_PROMPT = '<image>Describe the image.';

export function cotCompletion(think: string, answer: string): string {
  return `<think>${think}</think><answer>${answer}</answer>`;
}

/** The label baseline's completion: the answer alone, in the same tags, so eval parses both alike. */
export function labelCompletion(label: string): string {
  return `<answer>${label}</answer>`;
}

export interface ParsedCompletion {
  /** The whole text is exactly `<think>…</think><answer>…</answer>` (surrounding whitespace allowed). */
  wellFormed: boolean;
  think?: string;
  /** Trimmed content of the last `<answer>…</answer>`, if any. */
  answer?: string;
}

const FULL_RE = /^\s*<think>([\s\S]*?)<\/think>\s*<answer>([\s\S]*?)<\/answer>\s*$/;
const ANSWER_RE = /<answer>([\s\S]*?)<\/answer>/g;

/** Parses a decoded completion (text after the prompt, end-of-text token removed). */
export function parseCompletion(text: string): ParsedCompletion {
  const full = FULL_RE.exec(text);
  const inner = full && !/<\/?(think|answer)>/.test(full[1]) && !/<\/?(think|answer)>/.test(full[2]);
  if (full && inner) return { wellFormed: true, think: full[1], answer: full[2].trim() };
  const answers = [...text.matchAll(ANSWER_RE)];
  const last = answers[answers.length - 1];
  return { wellFormed: false, ...(last ? { answer: last[1].trim() } : {}) };
}

export function encodePrompt(tok: Tokenizer, prompt: string): number[] {
  return tok.encode(prompt);
}

/** Completion tokens end with end of text, so the model learns to stop. */
export function encodeCompletion(tok: Tokenizer, completion: string): number[] {
  return [...tok.encode(completion), tok.eos];
}

/**
 * Text the BPE merges are learned from: prompts, format tags, label names in their answer form,
 * captions, and attribute names/values (the vocabulary chains of thought are written in).
 */
export function tokenizerCorpus(
  samples: Iterable<{ caption?: string; label?: string; attributes?: Record<string, unknown> }>,
  labels: readonly string[],
  extra: Iterable<string> = [],
): string[] {
  const out: string[] = [TASK_PROMPT, CAPTION_PROMPT];
  for (const l of labels) out.push(labelCompletion(l), cotCompletion(` ${l}`, l), ` ${l}`, l);
  for (const s of samples) {
    if (s.caption) out.push(s.caption);
    if (s.label) out.push(labelCompletion(s.label));
    for (const [k, v] of Object.entries(s.attributes ?? {})) out.push(`${k} ${String(v)}`, `${k}: ${String(v)}`);
  }
  for (const e of extra) out.push(e);
  return out;
}
