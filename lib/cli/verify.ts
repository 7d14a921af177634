// `clgrpo verify <run|artifact> [--json]`: re-hash every file of the artifact (and its ancestors)
// or of every artifact of a run; exit 1 naming each file that changed, went missing or appeared.
import { ancestry, runRoots, type VerifyResult } from '../store';
import { parse, type CommandDef } from './args';
import { context, targetOrExit } from './common';

export const VERIFY: CommandDef = {
  name: 'clgrpo verify',
  summary: 'Re-hash the files of a run\'s artifacts (with their ancestors) or of one artifact against the manifests. Exit 0 when all match, 1 naming every changed, missing or extra file.',
  positionals: ['run-or-artifact'],
  flags: { json: { type: 'boolean', description: 'print the results as JSON' } },
};

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv, VERIFY);
  if (typeof a === 'number') return a;
  const ctx = context();
  const t = targetOrExit('verify', ctx, a.positionals[0]);
  if (typeof t === 'number') return t;
  const roots = 'run' in t ? [...new Set([...runRoots(ctx.store, t.run), ...Object.values(t.run.stages).map((s) => s.artifactId).filter((x): x is string => Boolean(x))])] : [t.artifactId];
  const g = ancestry(ctx.store, roots);
  const results: (VerifyResult & { stageId: string })[] = [];
  const absent: string[] = [];
  for (const n of Object.values(g.nodes)) {
    if (n.missing) absent.push(n.id);
    else results.push({ ...ctx.store.verify(n.id), stageId: n.stageId });
  }
  const bad = results.filter((r) => !r.ok);
  if (a.values.json) console.log(JSON.stringify({ ok: !bad.length && !absent.length, results, absent }, null, 2));
  else {
    for (const r of results) {
      if (r.ok) {
        console.log(`ok       ${r.id.slice(0, 12)}  ${r.stageId}`);
        continue;
      }
      console.log(`CHANGED  ${r.id.slice(0, 12)}  ${r.stageId}  (${ctx.store.artifactDir(r.id)})`);
      for (const f of r.changed) console.log(`  changed: ${f}`);
      for (const f of r.missing) console.log(`  missing: ${f}`);
      for (const f of r.extra) console.log(`  extra:   ${f}`);
      if (r.manifestChanged) console.log('  manifest.json no longer hashes to the artifact id');
    }
    for (const id of absent) console.log(`MISSING  ${id.slice(0, 12)}  (artifact directory not in the store)`);
    console.log(bad.length || absent.length ? `${bad.length + absent.length} of ${results.length + absent.length} artifacts failed verification` : `${results.length} artifacts verified`);
  }
  return bad.length || absent.length ? 1 : 0;
}
