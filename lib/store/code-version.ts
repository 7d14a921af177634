// The code version written into every manifest: package version + git commit + dirty flag.
// Computed once per process (git is slow to spawn and the answer cannot change under a running worker).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CodeVersion {
  package: string;
  version: string;
  /** Full commit hash, or 'unknown' outside a git checkout. */
  commit: string;
  dirty: boolean;
}

const PROJECT_ROOT = resolve(__dirname, '..', '..');
let cached: CodeVersion | undefined;

export function codeVersion(): CodeVersion {
  if (!cached) cached = compute(PROJECT_ROOT);
  return cached;
}

export function compute(root: string): CodeVersion {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const git = (args: string[]): string | undefined => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown';
  // Untracked files count as dirty too: they may be code the stage ran.
  const status = commit === 'unknown' ? '' : git(['status', '--porcelain', '--untracked-files=normal']) ?? '';
  return { package: pkg.name, version: pkg.version, commit, dirty: status.length > 0 };
}
