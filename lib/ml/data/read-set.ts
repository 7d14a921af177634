// The files a data-reading stage reads, as its fingerprint must cover them (lib/store/fingerprint.ts):
// an image folder's listed images, a JSONL file and the images it names, an EmoSet layout's split
// files, images and annotations, or every file of a `pretrain.init` dir or of a `model` stage's
// Hugging Face model dir. The same listing functions
// as the importers, so what is fingerprinted is exactly what is read; a bad source fails here with
// the importer's own located error, before anything runs.
import fs from 'node:fs';
import path from 'node:path';
import { ClgrpoError, ErrorType } from '../../errors';
import type { JsonObject } from '../../canonical';
import { SPLITS } from './dataset';
import { realRoot, resolveInRoot } from './paths';
import { listEmoset, listFolder, listJsonl } from './sources';

type Env = Readonly<Record<string, string | undefined>>;

/** The data root a stage reads under: CLGRPO_DATA_ROOT on the worker, else the plan's, else the cwd. */
export function dataRootFor(env: Env, params: JsonObject): string {
  return realRoot(env.CLGRPO_DATA_ROOT ?? (typeof params.dataRoot === 'string' ? params.dataRoot : process.cwd()));
}

function walk(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

/** Every file of a dir under the root (each confined to the root after symlinks, like the dir). */
function dirFiles(root: string, rel: string, what: string): string[] {
  const dir = resolveInRoot(root, rel, what);
  if (!fs.statSync(dir).isDirectory()) throw new ClgrpoError(ErrorType.Config, `${what}: ${dir} is not a directory`);
  const files: string[] = [];
  walk(dir, files);
  return files.sort().map((f) => resolveInRoot(root, path.relative(root, f), `${what} file`));
}

/** Absolute real paths of what the stage reads: a dataset import, a pretrain with init, a model dir. */
export function readSetOf(kind: string, params: JsonObject, root: string): string[] {
  if (kind === 'pretrain' && typeof params.init === 'string') return dirFiles(root, params.init, 'pretrain init');
  // A Hugging Face model dir: every file (config, weights, tokenizer/processor), as activities/model.ts copies it.
  if (kind === 'model' && typeof params.path === 'string') return dirFiles(root, params.path, 'model path');
  if (kind === 'dataset') {
    if (params.source === 'folder') return listFolder(root, params.root as string).all.map((e) => e.file);
    if (params.source === 'jsonl') return [resolveInRoot(root, params.file as string, 'jsonl file'), ...listJsonl(root, params.file as string).all.map((e) => e.file)];
    if (params.source === 'emoset') {
      const l = listEmoset(root, params.root as string);
      const splitFiles = SPLITS.map((s) => resolveInRoot(root, path.join(params.root as string, `${s}.json`), 'EmoSet split file'));
      return [...splitFiles, ...l.all.flatMap((e) => (e.annotation ? [e.file, e.annotation] : [e.file]))];
    }
  }
  throw new ClgrpoError(ErrorType.Config, `stage kind '${kind}' with source '${String(params.source)}' reads no user data`);
}
