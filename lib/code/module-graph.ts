// The module graph of the project's own sources, as the code identity of a stage kind needs it:
// from an entry file, every repo file its runtime imports reach, each with a hash of its
// *normalised* text, plus the bare packages it imports. Normalising = esbuild's TS→JS transform
// with whitespace minified and comments dropped: a comment, a blank line or a type annotation does
// not change what a stage computes, so it does not change the key (docs/runtime.md, "Code identity").
// Type-only imports vanish in that transform, so a types file reached only for its types is not
// part of the graph. Per-file results are cached by path + size + mtime + inode.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { canonicalJson } from '../canonical-json';
import { sha256Hex } from '../canonical';

/** One source file as the graph sees it. */
export interface SourceNode {
  /** Repo-relative, '/'-separated. */
  file: string;
  /** sha256 of the normalised text. */
  hash: string;
  /** Repo-relative files it imports at run time. */
  imports: string[];
  /** Bare package names it imports (`@scope/name` or `name`). */
  packages: string[];
}

interface CacheEntry extends SourceNode {
  size: number;
  mtimeMs: number;
  ino: number;
}

const RESOLVE_SUFFIXES = ['', '.ts', '.js', '.json', '/index.ts', '/index.js'];
// esbuild prints every string with double quotes, so one pattern per import form suffices.
const IMPORT_PATTERNS = [/(?:\bfrom|\bimport)\s*"([^"]+)"/g, /\b(?:import|require)\s*\(\s*"([^"]+)"\s*\)/g];

/** Which esbuild normalised the text: a different normaliser may print the same code differently. */
export function normaliserVersion(): string {
  return `esbuild-${(require('esbuild/package.json') as { version: string }).version}/ws-min-1`;
}

function normalise(abs: string, text: string): string {
  if (abs.endsWith('.json')) return canonicalJson(JSON.parse(text));
  const loader = abs.endsWith('.ts') ? 'ts' : 'js';
  // Loaded lazily: a process whose caches are warm never starts esbuild's service.
  const esbuild = require('esbuild') as typeof import('esbuild');
  return esbuild.transformSync(text, { loader, format: 'esm', minifyWhitespace: true, legalComments: 'none', target: 'es2022' }).code;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function resolveRelative(fromAbs: string, spec: string): string | undefined {
  const base = resolve(dirname(fromAbs), spec);
  for (const suffix of RESOLVE_SUFFIXES) {
    const p = base + suffix;
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

/**
 * A reader of the repo's sources with a per-file cache (in memory, and on disk at `cacheFile` when
 * given). Not thread-safe across processes beyond "last writer wins", which only costs a re-hash.
 */
export class ModuleGraph {
  private readonly cache = new Map<string, CacheEntry>();
  private dirty = false;

  constructor(readonly root: string, private readonly cacheFile?: string, private readonly normaliser = normaliserVersion()) {
    if (cacheFile && existsSync(cacheFile)) {
      try {
        const saved = JSON.parse(readFileSync(cacheFile, 'utf8')) as { normaliser?: string; entries?: Record<string, CacheEntry> };
        if (saved.normaliser === normaliser) for (const [k, v] of Object.entries(saved.entries ?? {})) this.cache.set(k, v);
      } catch {
        // A torn or foreign cache file is only a cold start.
      }
    }
  }

  /** One file's node (repo-relative path), hashing it only when its stat changed. */
  node(rel: string): SourceNode {
    const abs = join(this.root, rel);
    const st = statSync(abs);
    const hit = this.cache.get(rel);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) return hit;
    // Stat before reading: a file edited in between is re-hashed next time (its stat moved on),
    // never cached under the newer stat with the older text.
    const { size, mtimeMs, ino } = st;
    const code = normalise(abs, readFileSync(abs, 'utf8'));
    const imports = new Set<string>();
    const packages = new Set<string>();
    if (!abs.endsWith('.json')) {
      for (const re of IMPORT_PATTERNS) {
        for (const m of code.matchAll(re)) {
          const spec = m[1];
          if (spec.startsWith('node:')) continue;
          if (spec.startsWith('.')) {
            const target = resolveRelative(abs, spec);
            if (target && !relative(this.root, target).startsWith('..')) imports.add(this.rel(target));
          } else if (!isBuiltin(spec)) {
            packages.add(packageName(spec));
          }
        }
      }
    }
    const entry: CacheEntry = { file: rel, hash: sha256Hex(code), imports: [...imports].sort(), packages: [...packages].sort(), size, mtimeMs, ino };
    this.cache.set(rel, entry);
    this.dirty = true;
    return entry;
  }

  /** Every file reachable from `entry` (repo-relative), sorted, with its node. */
  reach(entry: string): Map<string, SourceNode> {
    const out = new Map<string, SourceNode>();
    const todo = [entry];
    while (todo.length) {
      const rel = todo.pop() as string;
      if (out.has(rel)) continue;
      const n = this.node(rel);
      out.set(rel, n);
      for (const i of n.imports) if (!out.has(i)) todo.push(i);
    }
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Write the per-file cache (atomically) when something was hashed. */
  save(): void {
    if (!this.cacheFile || !this.dirty) return;
    try {
      mkdirSync(dirname(this.cacheFile), { recursive: true });
      const tmp = `${this.cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ normaliser: this.normaliser, entries: Object.fromEntries(this.cache) }));
      renameSync(tmp, this.cacheFile);
      this.dirty = false;
    } catch {
      // A read-only checkout still works, only without the warm cache.
    }
  }

  private rel(abs: string): string {
    return relative(this.root, abs).split(sep).join('/');
  }
}

const BUILTINS = new Set(require('node:module').builtinModules as string[]);
function isBuiltin(spec: string): boolean {
  return BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]);
}
