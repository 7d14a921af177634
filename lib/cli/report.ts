// `clgrpo report <run> [<run>...] [--out dir] [--baseline stage]`: writes report.md, report.html and
// report-data.json (the gathered numbers, for other tools) and prints their paths. Several runs of
// one pipeline (other seeds) are aggregated like matrix seeds.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClgrpoError } from '../errors';
import { buildResultsTables } from '../report/aggregate';
import { collectReport } from '../report/collect';
import { renderHtml } from '../report/render-html';
import { renderMarkdown } from '../report/render-md';
import { ArtifactStore, storeRoot } from '../store';

const USAGE = `usage: clgrpo report <run> [<run>...] [--out dir] [--baseline stage]

Writes report.md, report.html (self-contained: inline CSS and SVG) and report-data.json.
  <run>              run name (workflow id) as \`clgrpo runs\` lists it; several runs aggregate as seeds
  --out dir          output directory (default: $CLGRPO_HOME/reports/<run>/)
  --baseline stage   stage (base id or concrete id) to compare against (default: the label-SFT stage)`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`clgrpo report: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) { console.log(USAGE); return 0; }
  const runs = parsed.positionals;
  if (runs.length === 0) { console.error(`clgrpo report: name a run\n\n${USAGE}`); return 2; }
  const root = storeRoot();
  if (!existsSync(join(root, 'runs'))) {
    console.error(`clgrpo report: no store at ${root} (no runs/ folder): set CLGRPO_HOME to the store the run used`);
    return 2;
  }
  try {
    const data = collectReport(new ArtifactStore(root), runs);
    const tables = buildResultsTables(data, parsed.values.baseline);
    const out = resolve(parsed.values.out ?? join(root, 'reports', runs.join('+')));
    mkdirSync(out, { recursive: true });
    const paths = { md: join(out, 'report.md'), html: join(out, 'report.html'), data: join(out, 'report-data.json') };
    writeFileSync(paths.html, renderHtml(data, tables));
    writeFileSync(paths.md, renderMarkdown(data, 'report.html', tables));
    writeFileSync(paths.data, `${JSON.stringify(data, null, 1)}\n`);
    for (const w of data.warnings) console.error(`warning: ${w}`);
    for (const t of tables) if (!t.baseline) console.error(`note: ${t.baselineNote}`);
    console.log(paths.md);
    console.log(paths.html);
    console.log(paths.data);
    return 0;
  } catch (e) {
    if (e instanceof ClgrpoError) { console.error(`clgrpo report: ${e.message}`); return 2; }
    throw e;
  }
}
