// The code identity of each stage kind, the `code` part of every stage key: a hash of the normalised
// sources its implementation reaches (the module graph from activities/<kind>.ts, within the repo)
// plus the exact versions of the packages that change its numbers (TF.js and its backends, the
// image decoder). Derived from the code, never bumped by hand: pulling a fix to a file re-runs
// exactly the kinds that reach it. docs/runtime.md ("Code identity") says what counts and why.
// Knows nothing of plans: lib/plan asks it for the kinds it compiles (the dependency points one way).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { hashJson, sha256Hex } from '../canonical';
import { ModuleGraph, normaliserVersion } from './module-graph';

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** Packages whose version changes a stage's numbers when the stage reaches them. */
const NUMERIC_PACKAGE = /^(@tensorflow\/.+|sharp)$/;
/**
 * TF.js picks its backend at run time (lib/ml/backend.ts requires them by computed name), so a stage
 * that reaches TF.js gets every backend's version: the pinned ones from package.json when one is not
 * installed here, so a GPU box and a laptop compute the same key (the backend itself is recorded in
 * lineage, not keyed: see docs/runtime.md).
 */
const TFJS_FAMILY = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

export interface CodeIdentity {
  kind: string;
  /** The stage's entry file, repo-relative. */
  entry: string;
  /** sha256 over entry, files, packages and normaliser: the key's code part. */
  hash: string;
  /** Repo-relative file → sha256 of its normalised text. */
  files: Record<string, string>;
  /** Numeric packages → exact version. */
  packages: Record<string, string>;
  normaliser: string;
}

/**
 * Kinds that can run `trainer: trl` (docs/trainers.md): their identity also covers the Python
 * trainer's sources (every .py under trainers/trl but its tests/, raw bytes) and its lock file, since the subprocess is
 * part of what they compute and no import edge leads there. A tfjs stage of these kinds is keyed on
 * them too: one kind, one identity.
 */
export const TRL_KINDS: ReadonlySet<string> = new Set(['sft', 'grpo', 'eval']);
const TRL_DIR = 'trainers/trl';

function walkPy(root: string, dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    // tests/ checks the trainer but computes nothing a stage publishes: not keyed.
    if (e.isDirectory() && e.name !== '__pycache__' && e.name !== 'tests' && !e.name.startsWith('.')) walkPy(root, p, out);
    else if (e.isFile() && e.name.endsWith('.py')) out.push(relative(root, p).split(sep).join('/'));
  }
}

/** Repo-relative trainer files → sha256 of their bytes. */
export function trainerSources(root: string): Record<string, string> {
  const files: string[] = [];
  walkPy(root, join(root, TRL_DIR), files);
  const lock = `${TRL_DIR}/requirements.lock`;
  if (existsSync(join(root, lock))) files.push(lock);
  return Object.fromEntries(files.sort().map((f) => [f, sha256Hex(readFileSync(join(root, f)))]));
}

export function entryOf(kind: string): string {
  return `activities/${kind}.ts`;
}

function packageVersion(root: string, name: string, declared: Record<string, string>): string | undefined {
  const file = join(root, 'node_modules', name, 'package.json');
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  return declared[name];
}

function declaredVersions(root: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return { ...pkg.optionalDependencies, ...pkg.devDependencies, ...pkg.dependencies };
}

/** The identity of one kind given a graph (callers share one graph so files are hashed once). */
export function identityOf(graph: ModuleGraph, kind: string): CodeIdentity {
  const entry = entryOf(kind);
  const normaliser = normaliserVersion();
  if (!existsSync(join(graph.root, entry))) {
    // A build without this stage kind: still a stable identity; running it fails at the worker.
    return { kind, entry, hash: hashJson({ entry, missing: true }), files: {}, packages: {}, normaliser };
  }
  const reached = graph.reach(entry);
  const files: Record<string, string> = Object.fromEntries([...reached].map(([f, n]) => [f, n.hash]));
  if (TRL_KINDS.has(kind)) Object.assign(files, trainerSources(graph.root));
  const used = new Set([...reached.values()].flatMap((n) => n.packages).filter((p) => NUMERIC_PACKAGE.test(p)));
  if ([...used].some((p) => p.startsWith('@tensorflow/'))) for (const p of TFJS_FAMILY) used.add(p);
  const declared = declaredVersions(graph.root);
  const packages: Record<string, string> = {};
  for (const p of [...used].sort()) packages[p] = packageVersion(graph.root, p, declared) ?? 'absent';
  return { kind, entry, hash: hashJson({ entry, files, packages, normaliser }), files, packages, normaliser };
}

let shared: ModuleGraph | undefined;

/** The process-wide graph of this checkout, with its stat cache under node_modules/.cache. */
export function projectGraph(root = PROJECT_ROOT): ModuleGraph {
  if (root !== PROJECT_ROOT) return new ModuleGraph(root);
  shared ??= new ModuleGraph(root, join(root, 'node_modules', '.cache', 'clgrpo', 'code-graph.json'));
  return shared;
}

/** The identities of the given kinds in this checkout (warm: a stat per file). */
export function codeIdentities<K extends string>(kinds: readonly K[], graph: ModuleGraph = projectGraph()): Record<K, CodeIdentity> {
  const out = Object.fromEntries(kinds.map((k) => [k, identityOf(graph, k)])) as Record<K, CodeIdentity>;
  graph.save();
  return out;
}

/** Just the hashes, as the compiler takes them. */
export function codeHashes<K extends string>(kinds: readonly K[], graph?: ModuleGraph): Record<K, string> {
  return Object.fromEntries(Object.entries(codeIdentities(kinds, graph)).map(([k, v]) => [k, (v as CodeIdentity).hash])) as Record<K, string>;
}

/** Files whose hash differs (or that appear on one side only) between two identities of a kind. */
export function changedFiles(before: Pick<CodeIdentity, 'files' | 'packages'>, after: Pick<CodeIdentity, 'files' | 'packages'>): string[] {
  const names = new Set([...Object.keys(before.files), ...Object.keys(after.files)]);
  const files = [...names].filter((f) => before.files[f] !== after.files[f]).sort();
  const pkgs = new Set([...Object.keys(before.packages), ...Object.keys(after.packages)]);
  const changedPkgs = [...pkgs].filter((p) => before.packages[p] !== after.packages[p]).sort()
    .map((p) => `${p}@${before.packages[p] ?? '-'}→${after.packages[p] ?? '-'}`);
  return [...files, ...changedPkgs];
}
