// The content-addressed artifact store (layout in docs/CONTRACTS.md). Artifacts are published
// atomically: files are written into staging/, fsynced, the manifest is written last, and the
// directory is renamed into artifacts/<id>, so a reader never sees half an artifact. The stage-key
// index is written after the artifact, with an exclusive link, so one key maps to one artifact.
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync,
  rmSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
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

export interface StoreOptions {
  /** How long a staging lease holds without a beat (default 3 min): after that cleanStaging may take the dir. */
  leaseTtlMs?: number;
  /** How often this store refreshes the leases of its live staging dirs (default ttl / 6). */
  leaseBeatMs?: number;
}

/** `staging/<name>.lease`, next to its dir so it never lands in a published artifact. */
interface StagingLease {
  pid: number;
  host: string;
  stageKey?: string;
  beatAt: number;
  expiresAt: number;
}

const LEASE_SUFFIX = '.lease';
const DEFAULT_LEASE_TTL_MS = 3 * 60_000;

export class ArtifactStore {
  readonly root: string;
  private readonly leaseTtlMs: number;
  private readonly leaseBeatMs: number;
  /** Live staging dirs of this process (dir → stage key) whose leases the beat refreshes. */
  private readonly leased = new Map<string, string | undefined>();
  private beat: NodeJS.Timeout | undefined;

  constructor(root: string, opts: StoreOptions = {}) {
    this.root = resolve(root);
    this.leaseTtlMs = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.leaseBeatMs = opts.leaseBeatMs ?? Math.max(10, Math.floor(this.leaseTtlMs / 6));
    for (const d of STORE_DIRS) mkdirSync(join(this.root, d), { recursive: true });
  }

  /**
   * A fresh, empty staging directory (StageContext.outDir). With a stage key the name carries it
   * (`<label>--<key16>-…`), so the leftovers of attempts killed before publishing can be found.
   * The dir is leased to this process until publish, discardStaging or releaseStaging: the lease is
   * written before the dir exists, so cleanStaging elsewhere never sees it unprotected.
   */
  createStaging(label = 'stage', stageKey?: string): string {
    const safe = label.replace(/[^a-z0-9_-]/gi, '_').slice(0, 40);
    const tag = stageKey ? stagingTag(stageKey) : '';
    const dir = confine(this.root, `staging/${safe}${tag}-${Date.now()}-${randomBytes(6).toString('hex')}`);
    this.writeLease(dir, stageKey);
    mkdirSync(dir, { recursive: false });
    this.leased.set(dir, stageKey);
    if (!this.beat) {
      // unref'd: a lease must not keep a finished process alive; its expiry frees the dir instead.
      this.beat = setInterval(() => this.refreshLeases(), this.leaseBeatMs);
      this.beat.unref();
    }
    return dir;
  }

  /** Stops refreshing the lease of `dir` and removes it (the dir stays, judged by mtime from now on). */
  releaseStaging(dir: string): void {
    const abs = resolve(dir);
    this.leased.delete(abs);
    if (!this.leased.size && this.beat) {
      clearInterval(this.beat);
      this.beat = undefined;
    }
    rmSync(`${abs}${LEASE_SUFFIX}`, { force: true });
  }

  /** Removes a staging dir that will not be published (the stage failed or was cancelled), with its lease. */
  discardStaging(dir: string): void {
    rmSync(resolve(dir), { recursive: true, force: true });
    this.releaseStaging(dir);
  }

  private writeLease(dir: string, stageKey: string | undefined, now = Date.now()): void {
    const lease: StagingLease = { pid: process.pid, host: hostname(), stageKey, beatAt: now, expiresAt: now + this.leaseTtlMs };
    // Rename, so a cleaner never reads half a lease; no fsync: after a crash the lease may as well be lost.
    const tmp = `${dir}${LEASE_SUFFIX}.${randomBytes(4).toString('hex')}.part`;
    writeFileSync(tmp, JSON.stringify(lease));
    renameSync(tmp, `${dir}${LEASE_SUFFIX}`);
  }

  private refreshLeases(): void {
    for (const [dir, stageKey] of this.leased) {
      try {
        // Gone (published elsewhere, cleanStagingOf, a cleaner that judged us dead): stop beating.
        if (!existsSync(dir)) this.releaseStaging(dir);
        else this.writeLease(dir, stageKey);
      } catch {
        // A failed beat (disk full...) is retried on the next tick; the TTL spans several beats.
      }
    }
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
      if (!name.includes(tag) || name.includes(LEASE_SUFFIX)) continue;
      this.discardStaging(join(this.root, 'staging', name));
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
      this.discardStaging(staging);
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
    this.releaseStaging(staging); // the dir is gone from staging/: nothing left to protect
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

  /**
   * Removes the staging dirs no live attempt owns (leftovers of crashed attempts) and returns how many:
   * those whose lease expired (no beat for the TTL), whose owner was a process of this host that has
   * died, or whose stage key is already published. Dirs without a lease (written by older versions)
   * go when older than `maxAgeMs`. A dir with a live lease stays however long its stage trains.
   */
  cleanStaging(maxAgeMs = 60 * 60 * 1000, now = Date.now()): number {
    const staging = join(this.root, 'staging');
    const names = readdirSync(staging);
    let n = 0;
    for (const name of names) {
      if (name.includes(LEASE_SUFFIX)) continue;
      const p = join(staging, name);
      const lease = readLease(`${p}${LEASE_SUFFIX}`);
      const stale = lease ? this.leaseIsDead(lease, now) : now - mtimeOf(p, now) >= maxAgeMs;
      if (!stale) continue;
      rmSync(p, { recursive: true, force: true });
      rmSync(`${p}${LEASE_SUFFIX}`, { force: true });
      n++;
    }
    // Leases whose dir is gone: a crash between the lease and the mkdir, or a dir removed by hand.
    for (const name of names) {
      if (!name.includes(LEASE_SUFFIX)) continue;
      const p = join(staging, name);
      const dir = p.slice(0, p.indexOf(LEASE_SUFFIX, staging.length));
      if (existsSync(dir)) continue;
      const lease = name.endsWith(LEASE_SUFFIX) ? readLease(p) : undefined;
      if (lease ? this.leaseIsDead(lease, now) : now - mtimeOf(p, now) >= maxAgeMs) rmSync(p, { force: true });
    }
    return n;
  }

  private leaseIsDead(lease: StagingLease, now: number): boolean {
    if (!(lease.expiresAt > now)) return true;
    // Same host and the pid is gone: the owner died (a reused pid only delays this to the expiry).
    if (lease.host === hostname() && Number.isInteger(lease.pid) && lease.pid > 0 && !processAlive(lease.pid)) return true;
    return typeof lease.stageKey === 'string' && /^[0-9a-f]{16,128}$/.test(lease.stageKey) && this.lookupKey(lease.stageKey) !== undefined;
  }
}

/** A lease file, or undefined when missing or unreadable (then the dir is judged by its mtime). */
function readLease(file: string): StagingLease | undefined {
  try {
    const l = JSON.parse(readFileSync(file, 'utf8')) as Partial<StagingLease>;
    if (typeof l.pid !== 'number' || typeof l.host !== 'string' || typeof l.expiresAt !== 'number') return undefined;
    return l as StagingLease;
  } catch {
    return undefined;
  }
}

function mtimeOf(path: string, fallback: number): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return fallback; // removed meanwhile: nothing to judge
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
