// What makes a dir a Hugging Face model dir, as the `model` import and the trl stages check it.
// Kept apart from the trainer runner so the `model` stage's code identity does not follow it.
import * as fs from 'node:fs';

/**
 * Files a Hugging Face model dir must have, one of each group: the same groups as the trainer's
 * check (trainers/trl/model_io.py check_model_dir), so an import never admits a dir TRL refuses.
 */
export const HF_MODEL_REQUIRED: ReadonlyArray<{ what: string; anyOf: RegExp; example: string }> = [
  { what: 'the model config', anyOf: /^config\.json$/, example: 'config.json' },
  { what: 'safetensors weights', anyOf: /^model\.safetensors(\.index\.json)?$/, example: 'model.safetensors or model.safetensors.index.json' },
  { what: 'the tokenizer', anyOf: /^(tokenizer\.json|tokenizer_config\.json)$/, example: 'tokenizer.json or tokenizer_config.json' },
  { what: 'the image processor', anyOf: /^(processor_config\.json|preprocessor_config\.json)$/, example: 'preprocessor_config.json or processor_config.json' },
];

/** The required files a dir lacks (empty when it is a complete HF model dir). */
export function missingHfFiles(dir: string): string[] {
  const names = fs.readdirSync(dir);
  return HF_MODEL_REQUIRED.filter((r) => !names.some((n) => r.anyOf.test(n))).map((r) => `${r.example} (${r.what})`);
}

