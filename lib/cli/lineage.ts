// `clgrpo lineage <run|artifact> [--format tree|json|mermaid|dot]`: the ancestry of an artifact, or
// of the final artifacts of a run, read from manifests in the store.
import { ancestry, LINEAGE_FORMATS, renderLineage, runRoots, type LineageFormat } from '../store';
import { parse, type CommandDef } from './args';
import { context, targetOrExit } from './common';

export const LINEAGE: CommandDef = {
  name: 'clgrpo lineage',
  summary: 'Print the ancestry of a run (its final artifacts) or of one artifact: which stage made what from which inputs.',
  positionals: ['run-or-artifact'],
  flags: { format: { type: 'string', value: LINEAGE_FORMATS.join('|'), description: 'output format (default tree)' } },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, LINEAGE);
  if (typeof a === 'number') return a;
  const format = String(a.values.format ?? 'tree') as LineageFormat;
  if (!LINEAGE_FORMATS.includes(format)) {
    console.error(`clgrpo lineage: --format must be one of ${LINEAGE_FORMATS.join(', ')} (got '${format}')`);
    return 2;
  }
  const ctx = context();
  const t = targetOrExit('lineage', ctx, a.positionals[0]);
  if (typeof t === 'number') return t;
  const roots = 'run' in t ? runRoots(ctx.store, t.run) : [t.artifactId];
  if (!roots.length) {
    console.error(`clgrpo lineage: run ${a.positionals[0]} has no artifacts yet`);
    return 1;
  }
  console.log(renderLineage(ancestry(ctx.store, roots), format));
  return 0;
}
