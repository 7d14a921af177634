// Durable checkpoints in a stage's work dir. A checkpoint is a directory of named files plus a
// manifest of their sha256 and sizes. It is written to a temp dir, fsynced and renamed into place;
// the `LATEST` pointer is written last (temp + rename), so a crash at any moment leaves the previous
// checkpoint as the one loaded. Loading verifies every hash and falls back to older checkpoints;
// when candidates exist but none is intact, a non-retryable CheckpointCorrupt error names the files.
// Layout: <dir>/step-00000050/{manifest.json, files...}, <dir>/LATEST = "step-00000050".
// The manifest also records where the numbers came from (backend, TF.js version, CPU kind) once the
// backend is chosen, so a resume elsewhere can say it is not bit-exact (backend.ts compareOrigins).
// Exports: CheckpointStore (save, loadLatest, list), LoadedCheckpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../canonical';
import { ClgrpoError, ErrorType } from '../errors';
import { crashPoint } from '../faults/crash-points';
import { numericsOrigin, type NumericsOrigin } from './backend';

export interface LoadedCheckpoint {
  step: number;
  /** Path relative to the store dir's parent-independent name, e.g. 'step-00000050'. */
  name: string;
  files: Map<string, Buffer>;
  /** Candidates that were skipped because they failed verification, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  /** Backend and CPU kind that wrote it (absent in checkpoints from before origins were recorded). */
  origin?: NumericsOrigin;
}

interface Manifest {
  version: 1;
  step: number;
  files: Record<string, { sha256: string; size: number }>;
  origin?: NumericsOrigin;
}

const STEP_RE = /^step-(\d{8})$/;
const stepName = (step: number) => `step-${String(step).padStart(8, '0')}`;

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

function writeDurable(file: string, data: Buffer | string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function storageError(e: unknown, where: string): unknown {
  if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return new ClgrpoError(ErrorType.StorageFull, `disk full while writing checkpoint ${where}; the previous checkpoint is intact — free space and retry`, { cause: e });
  }
  return e;
}

export class CheckpointStore {
  constructor(readonly dir: string, readonly keep: number) {
    if (!(keep >= 1)) throw new Error(`keepCheckpoints must be ≥ 1 (got ${keep})`);
  }

  /** Step names present on disk, newest first. */
  list(): Array<{ step: number; name: string }> {
    if (!fs.existsSync(this.dir)) return [];
    return fs.readdirSync(this.dir).flatMap((n) => {
      const m = STEP_RE.exec(n);
      return m ? [{ step: Number(m[1]), name: n }] : [];
    }).sort((a, b) => b.step - a.step);
  }

  /** Writes a checkpoint atomically, then moves LATEST to it, then prunes to the newest `keep`. */
  save(step: number, files: Map<string, Buffer>): string {
    const name = stepName(step);
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      fs.mkdirSync(tmp, { recursive: true });
      const origin = numericsOrigin();
      const manifest: Manifest = { version: 1, step, files: {}, ...(origin ? { origin } : {}) };
      for (const [f, data] of files) {
        if (f === 'manifest.json' || f.includes('/') || f.startsWith('.')) throw new Error(`bad checkpoint file name ${f}`);
        writeDurable(path.join(tmp, f), data);
        manifest.files[f] = { sha256: sha256Hex(data), size: data.length };
      }
      writeDurable(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
      fsyncPath(tmp);
      const final = path.join(this.dir, name);
      // A checkpoint of this step may exist from an attempt that died before LATEST moved.
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(tmp, final);
      crashPoint('checkpoint.before-latest');
      const latestTmp = path.join(this.dir, `.LATEST-${process.pid}-${randomBytes(4).toString('hex')}`);
      writeDurable(latestTmp, name);
      fs.renameSync(latestTmp, path.join(this.dir, 'LATEST'));
      fsyncPath(this.dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw storageError(e, `${name} in ${this.dir}`);
    }
    this.prune(step);
    return name;
  }

  /** Keeps the newest `keep` up to `latest`; newer dirs are leftovers of an abandoned attempt. */
  private prune(latest: number): void {
    const all = this.list();
    for (const { name } of all.filter((c) => c.step > latest)) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    for (const { name } of all.filter((c) => c.step <= latest).slice(this.keep)) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    for (const n of fs.readdirSync(this.dir)) {
      if (n.startsWith('.tmp-') || n.startsWith('.LATEST-')) fs.rmSync(path.join(this.dir, n), { recursive: true, force: true });
    }
  }

  private verify(name: string): { files: Map<string, Buffer>; origin?: NumericsOrigin } {
    const dir = path.join(this.dir, name);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    if (manifest.version !== 1 || stepName(manifest.step) !== name) throw new Error(`manifest.json does not describe ${name}`);
    const files = new Map<string, Buffer>();
    for (const [f, meta] of Object.entries(manifest.files)) {
      const data = fs.readFileSync(path.join(dir, f));
      if (data.length !== meta.size || sha256Hex(data) !== meta.sha256) {
        throw new Error(`${f} does not match its hash (size ${data.length}, expected ${meta.size})`);
      }
      files.set(f, data);
    }
    return { files, ...(manifest.origin ? { origin: manifest.origin } : {}) };
  }

  /**
   * The newest intact checkpoint at or before LATEST (all of them when LATEST is missing), or
   * undefined when there is none at all. Temp leftovers of crashed writes are ignored.
   */
  loadLatest(): LoadedCheckpoint | undefined {
    let candidates = this.list();
    const latestFile = path.join(this.dir, 'LATEST');
    const latest = fs.existsSync(latestFile) ? STEP_RE.exec(fs.readFileSync(latestFile, 'utf8').trim()) : null;
    if (latest) candidates = candidates.filter((c) => c.step <= Number(latest[1]));
    const skipped: LoadedCheckpoint['skipped'] = [];
    for (const c of candidates) {
      try {
        return { step: c.step, name: c.name, ...this.verify(c.name), skipped };
      } catch (e) {
        skipped.push({ name: c.name, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    if (skipped.length) {
      throw new ClgrpoError(ErrorType.CheckpointCorrupt,
        `no intact checkpoint in ${this.dir}: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}; delete the directory to start the stage over`,
        { details: { skipped } });
    }
    return undefined;
  }
}
