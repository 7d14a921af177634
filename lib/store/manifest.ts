// The artifact manifest (DESIGN.md §5): what an artifact is, who made it from what, and the sha256
// of every file. The artifact id is the sha256 of the canonical manifest, so any edit to the
// manifest or to a file it lists is detectable.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { hashJson, type JsonObject } from '../canonical';
import { ClgrpoError, ErrorType } from '../errors';
import type { ArtifactKind } from '../plan/types';
import type { CodeVersion } from './code-version';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface FileEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface Producer {
  runId: string;
  workflowId: string;
  pipeline: string;
  stageId: string;
  stageKind: string;
  stageKey: string;
  attempt: number;
  workerIdentity: string;
}

export interface ArtifactInputRef {
  input: string;
  from: string;
  artifactId: string;
}

export interface Manifest {
  manifestVersion: typeof MANIFEST_VERSION;
  kind: ArtifactKind;
  files: FileEntry[];
  producer: Producer;
  inputs: ArtifactInputRef[];
  specHash: string;
  params: JsonObject;
  seed: number;
  codeVersion: CodeVersion;
  metrics: Record<string, number>;
  /** Extra facts from the stage (backend, teachers, prompt hash...). */
  lineage: JsonObject;
  createdAt: string;
}

export type ManifestDraft = Omit<Manifest, 'manifestVersion' | 'files'>;

export function artifactId(manifest: Manifest): string {
  return hashJson(manifest);
}

/** Streams a file through sha256 (artifacts can be hundreds of MB; never read them whole). */
export function hashFile(path: string, fsync = false): { sha256: string; size: number } {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    if (fsync) fsyncSync(fd);
    return { sha256: h.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Every regular file under `dir` (sorted, forward slashes), hashed. Symlinks and special files are
 * refused: an artifact must be self-contained bytes, never a pointer elsewhere.
 */
export function listFiles(dir: string, opts: { fsync?: boolean; skipManifest?: boolean } = {}): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a);
      if (st.isDirectory()) walk(a, r);
      else if (st.isFile()) {
        if (opts.skipManifest && r === MANIFEST_FILE) continue;
        out.push({ path: r, ...hashFile(a, opts.fsync) });
      } else {
        throw new ClgrpoError(ErrorType.ArtifactCorrupt, `artifact file '${r}' is not a regular file (symlinks are not allowed in artifacts)`, {
          details: { path: r },
        });
      }
    }
  };
  walk(dir, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function buildManifest(draft: ManifestDraft, files: FileEntry[]): Manifest {
  return { manifestVersion: MANIFEST_VERSION, ...draft, files };
}
