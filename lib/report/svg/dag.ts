// Layered drawing of the run's lineage graph (Sugiyama-style, kept small): each node sits on the
// layer of its longest path from a source, nodes in a layer are ordered by the mean position of
// their neighbours (a few sweeps cut most crossings), edges are curves with arrowheads.
import type { LineageGraph, LineageNode } from '../model';
import { esc, r1, svgDoc, text, textWidth } from './util';

export interface Layout {
  layers: string[][];
  pos: Map<string, { x: number; y: number; w: number }>;
  width: number;
  height: number;
}

/** Longest-path layering; edges that would close a cycle are ignored rather than looping forever. */
export function assignLayers(g: LineageGraph): Map<string, number> {
  const ids = g.nodes.map((n) => n.id);
  const preds = new Map(ids.map((id) => [id, [] as string[]]));
  for (const e of g.edges) if (preds.has(e.to) && preds.has(e.from)) preds.get(e.to)!.push(e.from);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const l = Math.max(-1, ...preds.get(id)!.map(visit)) + 1;
    visiting.delete(id);
    layer.set(id, l);
    return l;
  };
  ids.forEach(visit);
  return layer;
}

/** Barycenter ordering: down then up sweeps, each layer sorted by neighbours' mean index. */
export function orderLayers(g: LineageGraph, layerOf: Map<string, number>, sweeps = 4): string[][] {
  const n = Math.max(-1, ...layerOf.values()) + 1;
  const layers: string[][] = Array.from({ length: n }, () => []);
  for (const node of g.nodes) layers[layerOf.get(node.id)!].push(node.id);
  const up = new Map<string, string[]>();
  const down = new Map<string, string[]>();
  for (const e of g.edges) {
    up.set(e.to, [...(up.get(e.to) ?? []), e.from]);
    down.set(e.from, [...(down.get(e.from) ?? []), e.to]);
  }
  const sortBy = (layer: string[], ref: string[], nb: Map<string, string[]>) => {
    const idx = new Map(ref.map((id, i) => [id, i]));
    const bc = new Map(layer.map((id, i) => {
      const ps = (nb.get(id) ?? []).map((p) => idx.get(p)).filter((v): v is number => v !== undefined);
      return [id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : i];
    }));
    layer.sort((a, b) => bc.get(a)! - bc.get(b)!);
  };
  for (let s = 0; s < sweeps; s++) {
    if (s % 2 === 0) for (let i = 1; i < n; i++) sortBy(layers[i], layers[i - 1], up);
    else for (let i = n - 2; i >= 0; i--) sortBy(layers[i], layers[i + 1], down);
  }
  return layers;
}

const NODE_H = 42;
const GAP_X = 26;
const GAP_Y = 44;
const PAD = 16;
const VIRTUAL_W = 14;

/** An edge of the graph and the node ids its drawing passes through (virtual ones included). */
export interface Chain { edge: LineageGraph['edges'][number]; ids: string[] }

/**
 * An edge that skips layers is split by virtual nodes, one per skipped layer: they take part in
 * the ordering, so long edges get their own lane instead of running across the nodes in between.
 */
export function withVirtualNodes(g: LineageGraph, layerOf: Map<string, number>): { graph: LineageGraph; layers: Map<string, number>; chains: Chain[] } {
  const nodes = [...g.nodes];
  const edges: LineageGraph['edges'] = [];
  const layers = new Map(layerOf);
  const chains: Chain[] = [];
  g.edges.forEach((e, ei) => {
    const a = layerOf.get(e.from);
    const b = layerOf.get(e.to);
    if (a === undefined || b === undefined) return;
    const chain = [e.from];
    for (let l = a + 1; l < b; l++) {
      const id = `\u0000v${ei}:${l}`;
      nodes.push({ id, label: '', kind: 'eval' });
      layers.set(id, l);
      chain.push(id);
    }
    chain.push(e.to);
    for (let i = 1; i < chain.length; i++) edges.push({ from: chain[i - 1], to: chain[i], input: e.input });
    chains.push({ edge: e, ids: chain });
  });
  return { graph: { nodes, edges }, layers, chains };
}

export function layoutDag(g: LineageGraph): Layout & { chains: Chain[] } {
  const v = withVirtualNodes(g, assignLayers(g));
  const layers = orderLayers(v.graph, v.layers);
  const byId = new Map(g.nodes.map((nd) => [nd.id, nd]));
  const widthOf = (id: string) => {
    const nd = byId.get(id);
    return nd ? Math.max(112, textWidth(nd.label, 12) + 28, textWidth(subtitle(nd), 10) + 20) : VIRTUAL_W;
  };
  const rowW = layers.map((l) => l.reduce((a, id) => a + widthOf(id), 0) + GAP_X * Math.max(0, l.length - 1));
  const width = Math.max(240, ...rowW) + 2 * PAD;
  const pos = new Map<string, { x: number; y: number; w: number }>();
  layers.forEach((l, li) => {
    let x = (width - rowW[li]) / 2;
    for (const id of l) {
      const w = widthOf(id);
      pos.set(id, { x, y: PAD + li * (NODE_H + GAP_Y), w });
      x += w + GAP_X;
    }
  });
  return { layers, pos, width, height: PAD * 2 + layers.length * NODE_H + Math.max(0, layers.length - 1) * GAP_Y, chains: v.chains };
}

const KIND_FILL: Record<string, string> = {
  dataset: '#e8f1fb', pretrain: '#eef2f7', cot: '#fdf3e1', sft: '#e6f5ef', grpo: '#f7e9f3', eval: '#f1f1f1',
};

function subtitle(nd: LineageNode): string {
  return `${nd.kind}${nd.artifactKind ? ` → ${nd.artifactKind}` : ''}${nd.reused ? ' · reused' : ''}`;
}

function nodeSvg(nd: LineageNode, p: { x: number; y: number; w: number }, inputs: string[]): string {
  const sub = subtitle(nd);
  const tip = [`${nd.label} (${sub})`, ...(nd.artifactId ? [`artifact ${nd.artifactId}`] : []), ...inputs].join('\n');
  return `<g class="node kind-${esc(nd.kind)}"><title>${esc(tip)}</title>`
    + `<rect x="${r1(p.x)}" y="${r1(p.y)}" width="${r1(p.w)}" height="${NODE_H}" rx="7" fill="${KIND_FILL[nd.kind] ?? '#fff'}"${nd.reused ? ' stroke-dasharray="4 3"' : ''}/>`
    + text(p.x + p.w / 2, p.y + 17, nd.label, 'class="node-label" text-anchor="middle"')
    + text(p.x + p.w / 2, p.y + 32, sub, 'class="node-sub" text-anchor="middle"') + '</g>';
}

/** Path through a chain: vertical-tangent curves between layers, straight through virtual nodes. */
function chainPath(chain: string[], pos: Layout['pos']): string {
  const p0 = pos.get(chain[0])!;
  let d = `M${r1(p0.x + p0.w / 2)} ${r1(p0.y + NODE_H)}`;
  for (let i = 1; i < chain.length; i++) {
    const a = pos.get(chain[i - 1])!;
    const b = pos.get(chain[i])!;
    const x1 = a.x + a.w / 2;
    const y1 = a.y + NODE_H;
    const x2 = b.x + b.w / 2;
    const last = i === chain.length - 1;
    const y2 = last ? b.y - 3 : b.y;
    const my = (y1 + y2) / 2;
    d += `C${r1(x1)} ${r1(my)} ${r1(x2)} ${r1(my)} ${r1(x2)} ${r1(y2)}`;
    if (!last) d += `V${r1(b.y + NODE_H)}`;
  }
  return d;
}

/** True when `to` can be reached from `from` without using the direct edge `skip`. */
function reachableWithout(g: LineageGraph, from: string, to: string, skip: LineageGraph['edges'][number]): boolean {
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    for (const e of g.edges) {
      if (e === skip || e.from !== id || seen.has(e.to)) continue;
      if (e.to === to) return true;
      seen.add(e.to);
      stack.push(e.to);
    }
  }
  return false;
}

/**
 * Nearly every stage reads the dataset; drawn, those edges bury the model flow. An edge out of a
 * dataset node is left out when a longer path already connects the two stages (the reader can
 * still see where the data came from); the node's tooltip keeps every input.
 */
export function reduceDatasetEdges(g: LineageGraph): { graph: LineageGraph; hidden: number } {
  const kind = new Map(g.nodes.map((n) => [n.id, n.kind]));
  const edges = g.edges.filter((e) => kind.get(e.from) !== 'dataset' || !reachableWithout(g, e.from, e.to, e));
  return { graph: { nodes: g.nodes, edges }, hidden: g.edges.length - edges.length };
}

export function dagChart(full: LineageGraph, title = 'Lineage'): string {
  const { graph: g } = reduceDatasetEdges(full);
  const lay = layoutDag(g);
  const edges = lay.chains.map(({ edge: e, ids }) =>
    `<path class="edge" d="${chainPath(ids, lay.pos)}" marker-end="url(#arrow)"><title>${esc(`${e.from} → ${e.to} (${e.input})`)}</title></path>`).join('');
  const defs = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#7b8794"/></marker></defs>';
  const inputs = (id: string) => full.edges.filter((e) => e.to === id).map((e) => `${e.input} ← ${e.from}`);
  const nodes = g.nodes.map((nd) => nodeSvg(nd, lay.pos.get(nd.id)!, inputs(nd.id))).join('');
  return svgDoc(lay.width, lay.height, title, `${defs}${edges}${nodes}`, 'chart dag');
}
