// Small SVG-writing helpers shared by the charts: escaping, coordinate rounding, the palette.
// Charts are strings of SVG so the page needs no script and no library at view time.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Coordinates with one decimal keep the markup small and stable across platforms. */
export function r1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Okabe–Ito-derived palette: distinguishable for the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7F7F', '#B8A000', '#000000'];

export function color(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Dash patterns tell repeats (seeds) of one series apart when colours already mean metrics. */
export const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

export function dash(i: number): string {
  return DASHES[i % DASHES.length];
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
}

/** Wraps chart content in an <svg> with a title for screen readers and a viewBox to scale. */
export function svgDoc(width: number, height: number, title: string, body: string, cls = 'chart'): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="${cls}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${body}</svg>`;
}

/** Approximate rendered width of a label at 11px (no DOM at build time). */
export function textWidth(s: string, px = 11): number {
  return s.length * px * 0.58;
}

/** Legend laid out in rows under a chart; returns the markup and the height it needs. */
export function legend(items: Array<{ label: string; color: string; dash?: string; swatch?: 'line' | 'box' }>, x0: number, y0: number, maxWidth: number): { svg: string; height: number } {
  let x = x0;
  let y = y0;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + textWidth(it.label) + 14;
    if (x + w > x0 + maxWidth && x > x0) { x = x0; y += 16; }
    const mark = it.swatch === 'box'
      ? `<rect x="${r1(x)}" y="${r1(y - 8)}" width="12" height="10" rx="2" fill="${it.color}"/>`
      : `<line x1="${r1(x)}" y1="${r1(y - 3)}" x2="${r1(x + 16)}" y2="${r1(y - 3)}" stroke="${it.color}" stroke-width="2.2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`;
    parts.push(`<g class="legend-item">${mark}${text(x + 20, y, it.label, 'class="legend"')}</g>`);
    x += w;
  }
  return { svg: parts.join(''), height: items.length ? y - y0 + 16 : 0 };
}
