// Path confinement for the artifact store: every path the store reads or writes is resolved here,
// so `..`, absolute paths, NUL bytes and symlinks pointing out of the root are refused in one place.
import { lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ClgrpoError, ErrorType } from '../errors';

/** True when `child` is `root` itself or lies below it (both absolute, normalized). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** A relative path with forward slashes, no empty, `.` or `..` segments, no NUL: checked before use. */
export function checkRelative(rel: string, what = 'path'): string {
  if (typeof rel !== 'string' || rel.length === 0) throw escape(`${what} is empty`, rel);
  if (rel.includes('\0')) throw escape(`${what} contains a NUL byte`, rel);
  if (isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.startsWith('\\')) throw escape(`${what} is absolute`, rel);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rel)) throw escape(`${what} is a URL`, rel);
  const parts = rel.split(/[\\/]/);
  if (parts.some((p) => p === '..' || p === '' || p === '.')) throw escape(`${what} has '..', '.' or empty segments`, rel);
  return parts.join('/');
}

/**
 * Join `rel` under `root`, refusing escapes. When the target (or an ancestor below root) exists and
 * is a symlink, its real path must still be inside the root's real path.
 */
export function confine(root: string, rel: string, what = 'path'): string {
  const clean = checkRelative(rel, what);
  const abs = resolve(root, clean);
  if (!isInside(resolve(root), abs)) throw escape(`${what} escapes the store root`, rel);
  const realRoot = safeRealpath(root) ?? resolve(root);
  let probe = abs;
  // Walk up to the nearest existing ancestor: its real path decides where the write would land.
  while (!exists(probe) && isInside(resolve(root), probe) && probe !== resolve(root)) probe = resolve(probe, '..');
  const real = safeRealpath(probe);
  if (real && !isInside(realRoot, real)) throw escape(`${what} resolves through a symlink outside the store root`, rel);
  return abs;
}

/** Ids and keys used as single directory names: lowercase hex only. */
export function checkHexId(id: string, what: string): string {
  if (!/^[0-9a-f]{16,128}$/.test(id)) throw escape(`${what} '${String(id).slice(0, 80)}' is not a hex id`, id);
  return id;
}

export function joinId(root: string, dir: string, id: string, what: string): string {
  return join(root, dir, checkHexId(id, what));
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function escape(message: string, path: string): ClgrpoError {
  return new ClgrpoError(ErrorType.PathEscape, `${message}: '${String(path).slice(0, 200)}'. Use a relative path inside the store.`, {
    details: { path: String(path).slice(0, 200) },
  });
}
