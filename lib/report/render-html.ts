// The run report as one self-contained HTML page: inline CSS and inline SVG, no script, no font or
// image fetched at view time, so it can be committed, mailed or opened offline.
import { buildResultsTables, type ResultsTable } from './aggregate';
import { duration } from './format';
import { confusionSection, cotSection, curvesSection, lineageSection, resultsSection } from './html-sections';
import type { ReportData } from './model';
import { esc } from './svg/util';

const CSS = `
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;--accent:#0b5cab;--pos:#1a7f37;--neg:#c62828}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","DejaVu Sans",sans-serif}
header{background:#102a43;color:#f0f4f8;padding:22px 32px 18px}
header h1{margin:0 0 6px;font-size:22px;font-weight:600;letter-spacing:.2px}
header .meta{display:flex;flex-wrap:wrap;gap:6px 22px;font-size:13px;color:#bcccdc}
header .meta b{color:#f0f4f8;font-weight:600}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;display:flex;gap:18px;font-size:13px}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
main{max-width:1240px;margin:0 auto;padding:8px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:18px 0;padding:6px 22px 18px}
h2{font-size:18px;margin:14px 0 6px;font-weight:600}h3{font-size:15px;margin:18px 0 4px;font-weight:600}h4{font-size:13px;margin:12px 0 4px}
.note{color:var(--muted);font-size:12.5px;margin:2px 0 10px}
.empty{color:var(--muted);font-style:italic}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px;min-width:40%}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
thead th{background:#f0f4f8;font-weight:600;color:#334e68;border-bottom:2px solid #bcccdc}
tbody tr:nth-child(even){background:#fafbfc}
tr.baseline{background:#fff8e1!important}
.num{text-align:right;font-variant-numeric:tabular-nums}
th.stage{font-weight:600}
.range{display:block;font-size:11px;color:var(--muted)}
.sub{display:block;font-size:11px}
.pos{color:var(--pos)}.neg{color:var(--neg)}.zero{color:var(--muted)}
td.delta{font-weight:600}td.best{font-weight:700}td.delta.base{color:var(--muted);font-weight:400;font-style:italic}
.badge{display:inline-block;font-size:10.5px;font-weight:600;padding:0 6px;border-radius:9px;background:#e3ecf7;color:#0b5cab;vertical-align:1px}
.kpis{display:flex;gap:22px;flex-wrap:wrap;font-size:13px;color:var(--muted)}.kpis b{color:var(--ink);font-size:15px}
figure{margin:8px 0;overflow-x:auto}figcaption{font-size:12px;color:var(--muted)}
.grid{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:flex-start}
.grid figure{margin:4px 0}
svg.chart{font-size:11px;max-width:100%;height:auto}
svg .chart-title{font-size:13px;font-weight:600;fill:var(--ink)}
svg .tick{fill:#52606d;font-size:10.5px}svg .axis-label{fill:#52606d;font-size:11px}
svg .legend{fill:#3e4c59;font-size:11px}svg .empty{fill:#9aa5b1;font-size:12px}
svg .plot-bg{fill:#fbfcfd}svg .grid{stroke:#e4e7eb;stroke-width:1}svg .axis{stroke:#7b8794;stroke-width:1}
svg .series{fill:none;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}svg .series.raw{stroke-width:1;opacity:.2}
svg .errbar{stroke:#323f4b;stroke-width:1;fill:none}
svg .cell{stroke:#fff;stroke-width:1}svg .cell.diag{stroke:#102a43;stroke-width:1.2}svg .cell-num{font-size:10px}
svg .edge{fill:none;stroke:#9aa5b1;stroke-width:1.5}
svg .node rect{stroke:#7b8794;stroke-width:1}svg .node-label{font-size:12px;font-weight:600;fill:var(--ink)}svg .node-sub{font-size:10px;fill:#616e7c}
.dag-fig{text-align:center}
.curve-flow{display:flex;flex-wrap:wrap;gap:0 18px}.stage-curves{max-width:100%}.stage-curves.wide{flex-basis:100%}.stage-curves .note{max-width:368px}.stage-curves.wide .note{max-width:none}
footer{max-width:1240px;margin:0 auto;padding:0 24px 30px;color:var(--muted);font-size:12px}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
@media print{nav{display:none}section{break-inside:avoid-page}}
`;

function header(data: ReportData): string {
  const runs = data.runs;
  const title = runs[0]?.pipeline ? `CLGRPO run report · ${runs[0].pipeline}` : 'CLGRPO run report';
  const meta = [
    `<span>run${runs.length > 1 ? 's' : ''} <b>${esc(runs.map((r) => r.id).join(', '))}</b></span>`,
    runs.some((r) => r.status) ? `<span>status <b>${esc(runs.map((r) => r.status ?? '?').join(', '))}</b></span>` : '',
    runs.some((r) => r.seed !== undefined) ? `<span>seed <b>${esc(runs.map((r) => r.seed ?? '?').join(', '))}</b></span>` : '',
    runs.some((r) => r.wallSeconds !== undefined) ? `<span>wall <b>${esc(runs.map((r) => duration(r.wallSeconds)).join(', '))}</b></span>` : '',
    runs[0]?.startedAt ? `<span>started <b>${esc(runs[0].startedAt)}</b></span>` : '',
    runs[0]?.specHash ? `<span>spec <b><code>${esc(runs[0].specHash.slice(0, 12))}</code></b></span>` : '',
  ].filter(Boolean).join('');
  return `<header><h1>${esc(title)}</h1><div class="meta">${meta}</div></header>`;
}

export function renderHtml(data: ReportData, tables: ResultsTable[] = buildResultsTables(data)): string {
  const results = tables.length ? tables.map((t) => resultsSection(data, t)).join('') : '<p class="empty">No eval stage results were found in this run.</p>';
  const confusion = tables.length ? confusionSection(tables[0]) : '<p class="empty">No confusion matrices.</p>';
  const warnings = data.warnings.length ? `<section id="warnings"><h2>Warnings</h2><ul>${data.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : '';
  const nav = ['results', 'confusion', 'curves', 'cot', 'lineage'].map((s) => `<a href="#${s}">${s === 'cot' ? 'COT data' : s[0].toUpperCase() + s.slice(1)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(`Report ${data.runs.map((r) => r.id).join(', ')}`)}</title><style>${CSS}</style></head>
<body>${header(data)}<nav>${nav}</nav><main>${warnings}
<section id="results"><h2>Results</h2>${results}</section>
<section id="confusion"><h2>Confusion matrices${tables[0] ? ` (${esc(tables[0].split)})` : ''}</h2>${confusion}</section>
<section id="curves"><h2>Training curves</h2>${curvesSection(data)}</section>
<section id="cot"><h2>Chain-of-thought data</h2>${cotSection(data)}</section>
<section id="lineage"><h2>Lineage</h2>${lineageSection(data)}</section>
</main><footer>Generated ${esc(data.generatedAt)} by <code>clgrpo report</code>. Charts are inline SVG drawn by the project; the page loads nothing from the network.</footer></body></html>
`;
}
