// `clgrpo report <run> [<run>...] [--out dir] [--baseline stage] [--json]`: writes report.md,
// report.html and report-data.json (the gathered numbers, for other tools) and prints their paths.
// Several runs of one pipeline (other seeds) are aggregated like matrix seeds.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClgrpoError } from '../errors';
import { buildResultsTables } from '../report/aggregate';
import { collectReport } from '../report/collect';
import { renderHtml } from '../report/render-html';
import { renderMarkdown } from '../report/render-md';
import { ArtifactStore, storeRoot } from '../store';
import { parse, type CommandDef } from './args';

export const REPORT_COMMAND: CommandDef = {
  name: 'clgrpo report',
  summary: 'Write the Markdown + self-contained HTML report of a run (several runs aggregate as seeds).',
  positionals: ['run', 'more-runs...'],
  flags: {
    out: { type: 'string', value: 'dir', description: 'output directory (default $CLGRPO_HOME/reports/<run>/)' },
    baseline: { type: 'string', value: 'stage', description: 'stage to compare against (default: the label-SFT stage)' },
    json: { type: 'boolean', description: 'print the written paths and warnings as JSON' },
  },
};

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, REPORT_COMMAND);
  if (typeof args === 'number') return args;
  const runs = args.positionals;
  const root = storeRoot();
  if (!existsSync(join(root, 'runs'))) {
    console.error(`clgrpo report: no store at ${root} (no runs/ folder): set CLGRPO_HOME to the store the run used`);
    return 2;
  }
  try {
    const data = collectReport(new ArtifactStore(root), runs);
    const tables = buildResultsTables(data, args.values.baseline as string | undefined);
    const out = resolve((args.values.out as string | undefined) ?? join(root, 'reports', runs.join('+')));
    mkdirSync(out, { recursive: true });
    const paths = { markdown: join(out, 'report.md'), html: join(out, 'report.html'), data: join(out, 'report-data.json') };
    writeFileSync(paths.html, renderHtml(data, tables));
    writeFileSync(paths.markdown, renderMarkdown(data, 'report.html', tables));
    writeFileSync(paths.data, `${JSON.stringify(data, null, 1)}\n`);
    const notes = tables.filter((t) => !t.baseline).map((t) => t.baselineNote);
    if (args.values.json) {
      console.log(JSON.stringify({ ...paths, warnings: data.warnings, notes }));
    } else {
      for (const w of data.warnings) console.error(`warning: ${w}`);
      for (const n of notes) console.error(`note: ${n}`);
      console.log(Object.values(paths).join('\n'));
    }
    return 0;
  } catch (e) {
    if (e instanceof ClgrpoError) { console.error(`clgrpo report: ${e.message}`); return 2; }
    throw e;
  }
}
