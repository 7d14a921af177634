// The workflow bundle (webpack over workflows/index.ts), built once per *content* instead of once per
// process: bundling takes 1.6 s on an idle machine and ~8 s under load, and every `clgrpo run` paid
// it before its first stage. The bundle is cached under node_modules/.cache/clgrpo/ keyed by the raw
// bytes of every repo file the workflows reach (the module graph of lib/code: runtime imports,
// followed transitively) plus the versions of the packages they import and of the SDK and bundler
// that build it. Raw bytes, not the graph's normalised hashes: a comment changes line numbers in
// the bundle's source map, so stack traces would point at the wrong lines. Delete the cache
// directory to force a rebuild.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { PROJECT_ROOT, projectGraph } from '../code/identity';
import { cacheDir, publishCached } from '../disk-cache';

export const WORKFLOWS_ENTRY = 'workflows/index.ts';
export const WORKFLOWS_PATH = join(PROJECT_ROOT, WORKFLOWS_ENTRY);
/** Packages that build or become part of every bundle, whatever the workflow code imports. */
const BUNDLER_PACKAGES = ['@temporalio/worker', '@temporalio/workflow', '@temporalio/common', 'webpack', '@swc/core', 'swc-loader'];
/** Bumped when the way the bundle is built here (options, key) changes. */
const FORMAT = 'clgrpo-workflow-bundle/1';
const PREFIX = 'workflow-bundle-';

function versionOf(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'absent';
  }
}

/** The cache key: raw bytes of the reached files, package versions, the checkout's path (source map paths). */
export function workflowBundleKey(root = PROJECT_ROOT): { key: string; files: string[] } {
  const graph = projectGraph(root);
  const reached = graph.reach(WORKFLOWS_ENTRY);
  graph.save();
  const h = createHash('sha256').update(`${FORMAT}\0${root}\0`);
  for (const file of reached.keys()) h.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  const packages = new Set([...BUNDLER_PACKAGES, ...[...reached.values()].flatMap((n) => n.packages)]);
  for (const p of [...packages].sort()) h.update(`${p}@${versionOf(root, p)}\0`);
  return { key: h.digest('hex'), files: [...reached.keys()] };
}

/**
 * The bundles of the checkout at `root` are named `workflow-bundle-<root hash>-<key>.js`: several
 * checkouts may share one node_modules (a symlink, a worktree), and each removes only its own old ones.
 */
function checkoutPrefix(root: string): string {
  return `${PREFIX}${createHash('sha256').update(root).digest('hex').slice(0, 8)}-`;
}

export function bundleCacheFile(root: string, key: string): string {
  return join(cacheDir(root), `${checkoutPrefix(root)}${key.slice(0, 32)}.js`);
}

/**
 * The bundle for the current workflow sources: read from the cache when its key matches, else built
 * and written (temp file + rename, so a concurrent reader never sees half a bundle; this checkout's
 * older bundles are removed). A read-only checkout still works, rebuilding per process.
 */
export async function cachedWorkflowBundle(root = PROJECT_ROOT): Promise<WorkflowBundle & { cached: boolean; key: string }> {
  const { key } = workflowBundleKey(root);
  const file = bundleCacheFile(root, key);
  if (existsSync(file)) {
    const code = readFileSync(file, 'utf8');
    if (code.length) return { code, cached: true, key };
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: join(root, WORKFLOWS_ENTRY), logger: new DefaultLogger('WARN') });
  publishCached(file, checkoutPrefix(root), code);
  return { code, cached: false, key };
}
