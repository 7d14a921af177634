// `clgrpo plan <spec> [--set k=v]... [--json]`: the compiled stages in order with kind, queue,
// inputs, key and a decision (run / reuse / resume, with the reason). Decisions come from a
// `DecideFn`: the runtime provides one backed by the store in lib/store/decide.ts
// (`createDecider(): DecideFn | Promise<DecideFn>`); without it every stage is "run".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatLocated } from '../spec';
import type { Plan } from '../plan';
import { runEverything, type Decision, type DecideFn } from '../plan/decide';
import { parse, type CommandDef } from './args';
import { check, toJsonError } from './validate';

export const PLAN: CommandDef = {
  name: 'clgrpo plan',
  summary: 'Compile a pipeline spec and show the stages in run order: kind, queue, inputs, stage key, and whether each will run, be reused or resumed. Exit 0 ok, 1 invalid spec, 2 usage or I/O error.',
  positionals: ['spec'],
  flags: {
    set: { type: 'string', multiple: true, value: 'path=value', description: 'override a field (repeatable), e.g. stages.grpo.params.steps=50 or seed=3' },
    json: { type: 'boolean', description: 'print the plan and the decisions as JSON' },
  },
};

async function defaultDecider(): Promise<DecideFn> {
  const file = join(__dirname, '..', 'store', 'decide.ts');
  if (!existsSync(file)) return runEverything;
  const mod = require(file) as { createDecider?: () => DecideFn | Promise<DecideFn> };
  return mod.createDecider ? mod.createDecider() : runEverything;
}

export function formatPlanTable(plan: Plan, decisions: Decision[]): string {
  const rows = plan.stages.map((s, i) => [String(i + 1), s.id, s.kind, s.queue, String(s.seed), (decisions[i].key ?? s.key).slice(0, 12),
    `${decisions[i].action} (${decisions[i].reason})`, s.inputs.map((b) => `${b.input}←${b.from}`).join(' ') || '-']);
  const head = ['#', 'stage', 'kind', 'queue', 'seed', 'key', 'decision', 'inputs'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ');
  return [`plan ${plan.name}: ${plan.stages.length} stages, seed ${plan.seed}, at most ${plan.maxParallel} at once, spec ${plan.specHash.slice(0, 12)}`,
    line(head), ...rows.map(line)].join('\n');
}

/** The command with an explicit decider (the runtime and tests call this). */
export async function runWith(argv: string[], decide?: DecideFn): Promise<number> {
  const args = parse(argv, PLAN);
  if (typeof args === 'number') return args;
  const compiled = check(args.positionals[0], (args.values.set as string[] | undefined) ?? []);
  const { plan, warnings } = compiled;
  if (!plan) {
    if (args.values.json) console.log(JSON.stringify({ valid: false, errors: compiled.errors.map(toJsonError), warnings: warnings.map(toJsonError) }, null, 2));
    else for (const e of [...warnings, ...compiled.errors]) console.error(formatLocated(e));
    return compiled.io ? 2 : 1;
  }
  const d = decide ?? (await defaultDecider());
  const decisions: Decision[] = [];
  for (const s of plan.stages) decisions.push(await d(s));
  if (args.values.json) {
    console.log(JSON.stringify({ plan, decisions: plan.stages.map((s, i) => ({ id: s.id, ...decisions[i] })), warnings: warnings.map(toJsonError) }, null, 2));
    return 0;
  }
  for (const w of warnings) console.error(formatLocated(w));
  console.log(formatPlanTable(plan, decisions));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runWith(argv);
}
