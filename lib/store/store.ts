// The content-addressed artifact store (layout in docs/CONTRACTS.md). Artifacts are published
// atomically: files are written into staging/, fsynced, the manifest is written last, and the
// directory is renamed into artifacts/<id>, so a reader never sees half an artifact. The stage-key
// index is written after the artifact, with an exclusive link, so one key maps to one artifact.
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync,
  rmSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ClgrpoError, ErrorType } from '../errors';
import { crashPoint } from '../faults/crash-points';
import { checkHexId, confine, isInside } from './paths';
import { MANIFEST_FILE, artifactId, buildManifest, hashFile, listFiles, type Manifest, type ManifestDraft } from './manifest';

export interface PublishResult {
  id: string;
  manifest: Manifest;
  /** True when another publisher won the race for this stage key: its artifact is returned instead. */
  reused: boolean;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  changed: string[];
  missing: string[];
  /** Files present in the directory but not in the manifest. */
  extra: string[];
  /** The manifest no longer hashes to the artifact id. */
  manifestChanged: boolean;
}

export const STORE_DIRS = ['artifacts', 'index/stage-keys', 'index/pending', 'work', 'staging', 'runs'] as const;

export class ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    for (const d of STORE_DIRS) mkdirSync(join(this.root, d), { recursive: true });
  }

  /**
   * A fresh, empty staging directory (StageContext.outDir). With a stage key the name carries it
   * (`<label>--<key16>-…`), so the leftovers of attempts killed before publishing can be found.
   */
  createStaging(label = 'stage', stageKey?: string): string {
    const safe = label.replace(/[^a-z0-9_-]/gi, '_').slice(0, 40);
    const tag = stageKey ? stagingTag(stageKey) : '';
    const dir = confine(this.root, `staging/${safe}${tag}-${Date.now()}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { recursive: false });
    return dir;
  }

  /**
   * Removes every staging dir of `stageKey`: called once the key is published, when no attempt of it
   * can still publish, so what is left is the partial output of killed attempts (found by the crash
   * loop of test/faults). Returns how many were removed.
   */
  cleanStagingOf(stageKey: string): number {
    const tag = `${stagingTag(stageKey)}-`;
    let n = 0;
    for (const name of readdirSync(join(this.root, 'staging'))) {
      if (!name.includes(tag)) continue;
      rmSync(join(this.root, 'staging', name), { recursive: true, force: true });
      n++;
    }
    return n;
  }

  /** Persistent per-stage-key directory for checkpoints and memos. */
  workDir(stageKey: string): string {
    const dir = confine(this.root, `work/${checkHexId(stageKey, 'stage key')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  artifactDir(id: string): string {
    return confine(this.root, `artifacts/${checkHexId(id, 'artifact id')}`);
  }

  has(id: string): boolean {
    return existsSync(join(this.artifactDir(id), MANIFEST_FILE));
  }

  readManifest(id: string): Manifest {
    const file = join(this.artifactDir(id), MANIFEST_FILE);
    if (!existsSync(file)) {
      throw new ClgrpoError(ErrorType.Config, `artifact ${id} is not in the store at ${this.root}. Check CLGRPO_HOME or run the stage that makes it.`, {
        details: { artifactId: id },
      });
    }
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  }

  /** The artifact published for a stage key, if any (and still present). */
  lookupKey(stageKey: string): string | undefined {
    const file = confine(this.root, `index/stage-keys/${checkHexId(stageKey, 'stage key')}`);
    if (!existsSync(file)) return undefined;
    const id = readFileSync(file, 'utf8').trim();
    return this.has(id) ? id : undefined;
  }

  /**
   * Publish a staged directory: hash + fsync its files, write the manifest, rename into artifacts/.
   * When the stage key already has an artifact (a lost completion, a concurrent attempt), that one is
   * returned and the staged copy is removed, so lineage holds one record per key.
   */
  publish(stagingDir: string, draft: ManifestDraft): PublishResult {
    const staging = resolve(stagingDir);
    if (!isInside(join(this.root, 'staging'), staging) || staging === join(this.root, 'staging')) {
      throw new ClgrpoError(ErrorType.PathEscape, `publish: '${staging}' is not a staging dir of the store at ${this.root}`);
    }
    const existing = this.lookupKey(draft.producer.stageKey);
    if (existing) {
      rmSync(staging, { recursive: true, force: true });
      return { id: existing, manifest: this.readManifest(existing), reused: true };
    }
    const manifest = buildManifest(draft, listFiles(staging, { fsync: true }));
    const id = artifactId(manifest);
    writeFileDurable(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDir(staging);
    const target = this.artifactDir(id);
    // Marks the artifact as not yet indexed: if this process dies before the index is written, the
    // publisher that does win this key removes it (found by test/faults/publish-crash.test.ts).
    const pending = this.pendingMarker(draft.producer.stageKey, id);
    writeFileDurable(pending, '');
    if (existsSync(target)) rmSync(staging, { recursive: true, force: true });
    else renameSync(staging, target);
    fsyncDir(dirname(target));
    crashPoint('store.before-index');
    const winner = this.indexKey(draft.producer.stageKey, id);
    crashPoint('store.after-index');
    if (winner !== id) rmSync(target, { recursive: true, force: true });
    rmSync(pending, { force: true }); // a winner may have dropped it already
    this.dropUnindexed(draft.producer.stageKey, winner);
    if (winner !== id) return { id: winner, manifest: this.readManifest(winner), reused: true };
    return { id, manifest, reused: false };
  }

  private pendingMarker(stageKey: string, id: string): string {
    return confine(this.root, `index/pending/${checkHexId(stageKey, 'stage key')}.${checkHexId(id, 'artifact id')}`);
  }

  /** Removes artifacts of `stageKey` left unindexed by publishers that died (their pending markers). */
  private dropUnindexed(stageKey: string, winner: string): void {
    const prefix = `${stageKey}.`;
    for (const name of readdirSync(join(this.root, 'index', 'pending'))) {
      if (!name.startsWith(prefix)) continue;
      const id = name.slice(prefix.length);
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      if (id !== winner) rmSync(this.artifactDir(id), { recursive: true, force: true });
      rmSync(join(this.root, 'index', 'pending', name), { force: true });
    }
  }

  /** Writes index/stage-keys/<key> unless it exists; returns the id the index holds afterwards. */
  private indexKey(stageKey: string, id: string): string {
    const file = confine(this.root, `index/stage-keys/${checkHexId(stageKey, 'stage key')}`);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileDurable(tmp, `${id}\n`);
    try {
      linkSync(tmp, file); // link(2) fails with EEXIST: the first publisher wins, atomically
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    fsyncDir(dirname(file));
    return readFileSync(file, 'utf8').trim();
  }

  /** Re-hash every file of an artifact against its manifest. */
  verify(id: string): VerifyResult {
    const manifest = this.readManifest(id);
    const dir = this.artifactDir(id);
    const changed: string[] = [];
    const missing: string[] = [];
    for (const f of manifest.files) {
      const abs = confine(dir, f.path, 'manifest file path');
      if (!existsSync(abs)) {
        missing.push(f.path);
        continue;
      }
      const h = hashFile(abs);
      if (h.sha256 !== f.sha256 || h.size !== f.size) changed.push(f.path);
    }
    const listed = new Set(manifest.files.map((f) => f.path));
    let extra: string[] = [];
    try {
      extra = listFiles(dir, { skipManifest: true }).map((f) => f.path).filter((p) => !listed.has(p));
    } catch (err) {
      if (!(err instanceof ClgrpoError)) throw err;
      extra = [String(err.details.path ?? 'non-regular file')];
    }
    const manifestChanged = artifactId(manifest) !== id;
    const ok = !changed.length && !missing.length && !extra.length && !manifestChanged;
    return { id, ok, changed, missing, extra, manifestChanged };
  }

  listArtifacts(): string[] {
    return readdirSync(join(this.root, 'artifacts')).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  }

  /** Removes staging dirs older than `maxAgeMs` (leftovers of crashed attempts). Returns how many. */
  cleanStaging(maxAgeMs = 60 * 60 * 1000, now = Date.now()): number {
    let n = 0;
    for (const name of readdirSync(join(this.root, 'staging'))) {
      const p = join(this.root, 'staging', name);
      if (now - statSync(p).mtimeMs >= maxAgeMs) {
        rmSync(p, { recursive: true, force: true });
        n++;
      }
    }
    return n;
  }
}

function stagingTag(stageKey: string): string {
  const hex = stageKey.toLowerCase().replace(/[^0-9a-f]/g, '').slice(0, 16);
  return hex ? `--${hex}` : '';
}

/** Write + fsync a file, via a temp name and rename, so a crash leaves the old or the new content. */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.part`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `$CLGRPO_HOME`, default `./.clgrpo` (relative to the current directory). */
export function storeRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(env.CLGRPO_HOME || '.clgrpo');
}
