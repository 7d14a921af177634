// The `model` stage: imports a local Hugging Face model dir (config.json, *.safetensors weights,
// tokenizer/processor files) from under the data root as an `hf-model` artifact, so the lineage of
// every `trainer: trl` stage starts at the real base model. The workflow fingerprinted the same
// files before the reuse decision (lib/ml/data/read-set.ts); the wrapper checks after the copy that
// they did not change while being read. Files are copied (reflinked where the filesystem can), never
// hard-linked: the store makes its files read only, which must not reach the user's own copy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClgrpoError, ErrorType } from '../lib/errors';
import { realRoot, resolveInRoot } from '../lib/ml/data/paths';
import { missingHfFiles } from '../lib/stage/hf-model';
import type { StageImplementation } from './types';

function copyTree(from: string, to: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) {
      fs.mkdirSync(dst);
      const sub = copyTree(src, dst);
      files += sub.files;
      bytes += sub.bytes;
    } else {
      // A symlink is followed (read-set.ts confined its target to the data root).
      fs.copyFileSync(src, dst, fs.constants.COPYFILE_FICLONE);
      files += 1;
      bytes += fs.statSync(dst).size;
    }
  }
  return { files, bytes };
}

export const runModelStage: StageImplementation = async (ctx) => {
  const rel = ctx.stage.params.path;
  if (typeof rel !== 'string') throw new ClgrpoError(ErrorType.Config, `model stage '${ctx.stage.id}' has no params.path`);
  // The root rule of lib/ml/data/read-set.ts dataRootFor (not imported: the importers it reaches are not this stage's code).
  const root = realRoot(ctx.env.CLGRPO_DATA_ROOT ?? (typeof ctx.stage.params.dataRoot === 'string' ? ctx.stage.params.dataRoot : process.cwd()));
  const dir = resolveInRoot(root, rel, 'model path');
  if (!fs.statSync(dir).isDirectory()) throw new ClgrpoError(ErrorType.Config, `model stage '${ctx.stage.id}': ${dir} is not a directory; path names a Hugging Face model dir`);
  const missing = missingHfFiles(dir);
  if (missing.length) {
    throw new ClgrpoError(ErrorType.Config,
      `model stage '${ctx.stage.id}': ${dir} is not a Hugging Face model dir: it lacks ${missing.join(', ')}. Point path at a dir saved with save_pretrained (config, safetensors weights, tokenizer/processor files); for the test fixture run \`python -m trainers.trl.fixtures\``,
      { details: { path: rel, missing } });
  }
  ctx.heartbeat({ step: 0, total: 1, phase: `copying ${rel}` });
  const { files, bytes } = copyTree(dir, ctx.outDir);
  ctx.heartbeat({ step: 1, total: 1, phase: 'copied' });
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ClgrpoError(ErrorType.Config, `model stage '${ctx.stage.id}': ${path.join(dir, 'config.json')} is not valid JSON`, { cause });
  }
  const modelType = typeof config.model_type === 'string' ? config.model_type : 'unknown';
  const architectures = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
  ctx.log.info(`imported ${rel}: ${modelType} ${architectures.join(', ')}, ${files} files, ${(bytes / 1e6).toFixed(1)} MB`);
  return {
    kind: 'hf-model',
    metrics: { files, bytes },
    lineage: { source: rel, modelType, architectures },
    summary: { files, modelType },
  };
};
