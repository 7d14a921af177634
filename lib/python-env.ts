// Where the project's Python env is (PyTorch + transformers + TRL, installed by
// `npm run setup:python`, scripts/python-env.js): .tools/py-<first 12 hex of
// sha256(trainers/trl/requirements.lock)>/, complete when its marker file exists (written last by the
// installer). Used by the bench's PyTorch yardstick and the TRL trainer; this module never installs.
// Exports: pythonEnv, pythonEnvDir, PYTHON_ENV_MARKER.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const LOCK = path.join(ROOT, 'trainers', 'trl', 'requirements.lock');
export const PYTHON_ENV_MARKER = '.clgrpo-env-complete';

/** The env's directory for the current lock file (whether or not it is installed). */
export function pythonEnvDir(lockFile = LOCK): string {
  const hash = createHash('sha256').update(fs.readFileSync(lockFile)).digest('hex').slice(0, 12);
  return path.join(ROOT, '.tools', `py-${hash}`);
}

/** The env's interpreter when the env is complete, else why not (one line saying what to run). */
export function pythonEnv(): { python: string } | { missing: string } {
  if (!fs.existsSync(LOCK)) return { missing: `no ${path.relative(ROOT, LOCK)} in this checkout` };
  const dir = pythonEnvDir();
  const python = process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
  if (!fs.existsSync(path.join(dir, PYTHON_ENV_MARKER)) || !fs.existsSync(python)) {
    return { missing: `no Python env at ${path.relative(ROOT, dir)}: run npm run setup:python` };
  }
  return { python };
}
