// `clgrpo validate <spec> [--json]`: every located problem at once. Exit 0 valid, 1 invalid,
// 2 usage or I/O error. `--json` prints { valid, errors: [{file,line,col,path,message,hint}], warnings }.
import { formatLocated, loadSpecFile, type LocatedError } from '../spec';
import { compilePlan, type Plan } from '../plan';
import { parse, type CommandDef } from './args';

export const VALIDATE: CommandDef = {
  name: 'clgrpo validate',
  summary: 'Check a pipeline spec: YAML safety, the schema, references, cycles, inputs and cross-field rules. Exit 0 valid, 1 invalid, 2 usage or I/O error.',
  positionals: ['spec'],
  flags: {
    json: { type: 'boolean', description: 'print { valid, errors, warnings } as JSON' },
    set: { type: 'string', multiple: true, value: 'path=value', description: 'override a field before checking (repeatable), e.g. stages.sft.params.lr=1e-3' },
  },
};

export function toJsonError(e: LocatedError): { file: string; line: number; col: number; path: string; message: string; hint: string | null; type: string } {
  return { file: e.file, line: e.line, col: e.col, path: e.path, message: e.message, hint: e.hint ?? null, type: e.type };
}

/**
 * Load and check (compiling too, so matrix cells and duplicate stage keys are checked as well);
 * `plan` is set when there are no errors. Shared by `validate` and `plan`.
 */
export function check(file: string, set: string[]): { plan?: Plan; errors: LocatedError[]; warnings: LocatedError[]; io: boolean } {
  const loaded = loadSpecFile(file);
  if ('errors' in loaded) return { errors: loaded.errors, warnings: loaded.warnings, io: loaded.io === true };
  const compiled = compilePlan(loaded.spec, { overrides: set });
  if ('errors' in compiled) return { errors: compiled.errors, warnings: compiled.warnings, io: false };
  return { plan: compiled.plan, errors: [], warnings: compiled.warnings, io: false };
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, VALIDATE);
  if (typeof args === 'number') return args;
  const file = args.positionals[0];
  const { errors, warnings, io } = check(file, (args.values.set as string[] | undefined) ?? []);
  const code = io ? 2 : errors.length ? 1 : 0;
  if (args.values.json) {
    console.log(JSON.stringify({ valid: code === 0, errors: errors.map(toJsonError), warnings: warnings.map(toJsonError) }, null, 2));
    return code;
  }
  for (const w of warnings) console.error(formatLocated(w));
  for (const e of errors) console.error(formatLocated(e));
  if (code === 0) console.log(`${file}: valid${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}`);
  else if (code === 1) console.error(`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`);
  return code;
}
