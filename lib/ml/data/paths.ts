// Confinement of user-supplied data paths (FAULTS.md 9): every file an importer reads must lie
// inside the declared data root, both as written (no `..` climbing out, no absolute path, no NUL,
// no URL) and after symlinks are followed (realpath). Violations are non-retryable PathEscape errors.
import fs from 'node:fs';
import path from 'node:path';
import { ClgrpoError, ErrorType } from '../../errors';

function escape(what: string, p: string, why: string, root: string): ClgrpoError {
  // JSON.stringify shows a NUL or control character instead of printing it raw.
  return new ClgrpoError(ErrorType.PathEscape,
    `${what} ${JSON.stringify(p)} ${why}; it must be a relative path inside the data root ${root} (set CLGRPO_DATA_ROOT to change the root)`,
    { details: { path: p, root } });
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of the data root (it must exist). */
export function realRoot(root: string): string {
  try {
    return fs.realpathSync(path.resolve(root));
  } catch (cause) {
    throw new ClgrpoError(ErrorType.Config, `data root ${root} does not exist; create it or set CLGRPO_DATA_ROOT`, { cause });
  }
}

/**
 * Resolve `rel` against `base` (a directory inside `root`, default the root itself) and check it
 * stays inside `root` lexically and after following symlinks. Returns the real path.
 * A path that does not exist is a ConfigError naming it.
 */
export function resolveInRoot(root: string, rel: string, what: string, base: string = root): string {
  if (typeof rel !== 'string' || rel.length === 0) throw escape(what, String(rel), 'is empty', root);
  if (rel.includes('\0')) throw escape(what, rel, 'contains a NUL byte', root);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rel)) throw escape(what, rel, 'is a URL', root);
  if (path.isAbsolute(rel) || /^[a-z]:[\\/]/i.test(rel)) throw escape(what, rel, 'is absolute', root);
  const joined = path.resolve(base, rel);
  if (!inside(root, joined)) throw escape(what, rel, 'climbs out of the data root', root);
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch (cause) {
    throw new ClgrpoError(ErrorType.Config, `${what} ${JSON.stringify(rel)} does not exist under the data root ${root}`, { cause, details: { path: rel, root } });
  }
  if (!inside(root, real)) throw escape(what, rel, `is a symlink to ${real}, outside the data root`, root);
  return real;
}

/** The path of `abs` relative to the root, with forward slashes (as recorded in samples). */
export function relativeToRoot(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}
