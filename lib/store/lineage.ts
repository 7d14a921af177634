// Lineage queries: the ancestry of an artifact (or of every final artifact of a run) as a DAG read
// from manifests, and its renderings: an indented tree, JSON, Mermaid and Graphviz DOT.
import type { RunRecord } from './runs';
import type { ArtifactStore } from './store';

export interface LineageNode {
  id: string;
  kind: string;
  stageId: string;
  stageKind: string;
  workflowId: string;
  runId: string;
  createdAt: string;
  metrics: Record<string, number>;
  inputs: { input: string; from: string; artifactId: string }[];
  /** Who computed it: "trl 1.16.0 (torch 2.15.0, transformers 5.24.0) on cuda:0 NVIDIA H200, bfloat16" or "tfjs wasm". */
  computedBy?: string;
  /** Set when the manifest could not be read (artifact deleted from the store). */
  missing?: boolean;
}

export interface LineageGraph {
  roots: string[];
  nodes: Record<string, LineageNode>;
}

export const LINEAGE_FORMATS = ['tree', 'json', 'mermaid', 'dot'] as const;
export type LineageFormat = (typeof LINEAGE_FORMATS)[number];

/** Every ancestor of the given artifacts, each read once. */
export function ancestry(store: ArtifactStore, roots: string[]): LineageGraph {
  const nodes: Record<string, LineageNode> = {};
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop() as string;
    if (nodes[id]) continue;
    nodes[id] = readNode(store, id);
    for (const i of nodes[id].inputs) stack.push(i.artifactId);
  }
  return { roots: [...roots], nodes };
}

function readNode(store: ArtifactStore, id: string): LineageNode {
  if (!store.has(id)) {
    return { id, kind: '?', stageId: '?', stageKind: '?', workflowId: '?', runId: '?', createdAt: '', metrics: {}, inputs: [], missing: true };
  }
  const m = store.readManifest(id);
  const by = computedBy(m.lineage as Record<string, unknown> | undefined);
  return {
    id, kind: m.kind, stageId: m.producer.stageId, stageKind: m.producer.stageKind, workflowId: m.producer.workflowId,
    runId: m.producer.runId, createdAt: m.createdAt, metrics: m.metrics ?? {}, inputs: m.inputs ?? [], ...(by ? { computedBy: by } : {}),
  };
}

/** The trainer, its versions, device and dtype (trl), or the TF.js backend, from a manifest's lineage. */
export function computedBy(l: Record<string, unknown> | undefined): string | undefined {
  if (!l) return undefined;
  if (l.trainer === 'trl') {
    const v = (l.versions ?? {}) as Record<string, string>;
    return `trl ${v.trl ?? '?'} (torch ${v.torch ?? '?'}, transformers ${v.transformers ?? '?'}) on ${String(l.device ?? '?')}, ${String(l.dtype ?? '?')}`;
  }
  const b = l.backend as { name?: string } | string | undefined;
  const name = typeof b === 'string' ? b : b?.name;
  return name ? `tfjs ${name}` : undefined;
}

/**
 * The roots of a run's lineage: its stage artifacts that no other artifact of the run took as an
 * input (the run's final products; stages ordered only by `needs` stay separate roots).
 */
export function runRoots(store: ArtifactStore, rec: RunRecord): string[] {
  const ids = [...new Set(rec.plan.stages.map((s) => rec.stages[s.id]?.artifactId).filter((x): x is string => Boolean(x)))];
  const consumed = new Set<string>();
  for (const id of ids) {
    if (!store.has(id)) continue;
    for (const i of store.readManifest(id).inputs ?? []) consumed.add(i.artifactId);
  }
  return ids.filter((id) => !consumed.has(id));
}

export function renderLineage(g: LineageGraph, format: LineageFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(g, null, 2);
    case 'tree':
      return renderTree(g);
    case 'mermaid':
      return renderMermaid(g);
    case 'dot':
      return renderDot(g);
    default: {
      const never: never = format;
      throw new Error(`unknown lineage format ${String(never)}`);
    }
  }
}

function label(n: LineageNode): string {
  if (n.missing) return `${n.id.slice(0, 12)} (missing from the store)`;
  const m = Object.entries(n.metrics).slice(0, 2).map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join(' ');
  return `${n.stageId} [${n.kind}] ${n.id.slice(0, 12)}${m ? `  ${m}` : ''}${n.computedBy ? `  · ${n.computedBy}` : ''}  (run ${n.workflowId})`;
}

function renderTree(g: LineageGraph): string {
  const lines: string[] = [];
  const shown = new Set<string>();
  const walk = (id: string, prefix: string, last: boolean, depth: number, via?: string): void => {
    const n = g.nodes[id];
    const branch = depth === 0 ? '' : last ? '└── ' : '├── ';
    const seen = shown.has(id);
    lines.push(`${prefix}${branch}${via ? `${via} ← ` : ''}${label(n)}${seen && n.inputs.length ? ' (see above)' : ''}`);
    if (seen) return;
    shown.add(id);
    const next = depth === 0 ? '' : prefix + (last ? '    ' : '│   ');
    n.inputs.forEach((i, k) => walk(i.artifactId, next, k === n.inputs.length - 1, depth + 1, i.input));
  };
  for (const r of g.roots) walk(r, '', true, 0);
  return lines.join('\n');
}

function edges(g: LineageGraph): [string, string, string][] {
  return Object.values(g.nodes).flatMap((n) => n.inputs.map((i) => [i.artifactId, n.id, i.input] as [string, string, string]));
}

function renderMermaid(g: LineageGraph): string {
  const id = (x: string): string => `a${x.slice(0, 12)}`;
  const nodeLines = Object.values(g.nodes).map((n) => `  ${id(n.id)}["${n.stageId} · ${n.kind}<br/>${n.id.slice(0, 12)}"]`);
  const edgeLines = edges(g).map(([from, to, input]) => `  ${id(from)} -->|${input}| ${id(to)}`);
  return ['graph TD', ...nodeLines, ...edgeLines].join('\n');
}

function renderDot(g: LineageGraph): string {
  const q = (s: string): string => JSON.stringify(s);
  const nodeLines = Object.values(g.nodes).map((n) => `  ${q(n.id.slice(0, 12))} [label=${q(`${n.stageId}\\n${n.kind}\\n${n.id.slice(0, 12)}`)}];`);
  const edgeLines = edges(g).map(([from, to, input]) => `  ${q(from.slice(0, 12))} -> ${q(to.slice(0, 12))} [label=${q(input)}];`);
  return ['digraph lineage {', '  rankdir=BT;', '  node [shape=box];', ...nodeLines, ...edgeLines, '}'].join('\n');
}
