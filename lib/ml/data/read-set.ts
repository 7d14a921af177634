// The files a data-reading stage reads, as its fingerprint must cover them (lib/store/fingerprint.ts):
// an image folder's listed images, a JSONL file and the images it names, an EmoSet layout's split
// files, images and annotations, or every file of a `pretrain.init` dir. The same listing functions
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

/** Absolute real paths of what the stage reads, for a dataset import or a pretrain with init. */
export function readSetOf(kind: string, params: JsonObject, root: string): string[] {
  if (kind === 'pretrain' && typeof params.init === 'string') {
    const dir = resolveInRoot(root, params.init, 'pretrain init');
    if (!fs.statSync(dir).isDirectory()) throw new ClgrpoError(ErrorType.Config, `pretrain init: ${dir} is not a directory`);
    const files: string[] = [];
    walk(dir, files);
    return files.map((f) => resolveInRoot(root, path.relative(root, f), 'pretrain init file'));
  }
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
