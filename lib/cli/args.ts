// A small argv parser shared by the `clgrpo` commands (node:util parseArgs underneath, strict):
// declared flags only, repeatable string flags (`--set a=1 --set b=2`), `--json`, and `--help`
// on every command. Returns a result instead of exiting, so commands stay testable.
import { parseArgs } from 'node:util';

export interface FlagDef {
  type: 'boolean' | 'string';
  /** A string flag that may be given several times (its value is a list). */
  multiple?: boolean;
  short?: string;
  /** Shown in --help: what it does, with units and default. */
  description: string;
  /** Placeholder for the value in --help (`k=v`). */
  value?: string;
}

export interface CommandDef {
  /** `clgrpo validate` */
  name: string;
  summary: string;
  /** Positional arguments in order, e.g. ['spec']; the last may end in '...' for several. */
  positionals: string[];
  flags: Record<string, FlagDef>;
}

export type ParsedArgs =
  | { ok: true; values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
  | { ok: false; exitCode: 0 | 2; text: string };

export function helpText(def: CommandDef): string {
  const flags: [string, string][] = Object.entries({ ...def.flags, help: { type: 'boolean', short: 'h', description: 'show this help' } as FlagDef })
    .map(([name, f]) => [`${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` <${f.value ?? 'value'}>` : ''}${f.multiple ? '...' : ''}`, f.description]);
  const width = Math.max(...flags.map(([l]) => l.length));
  return [`usage: ${def.name} ${def.positionals.map((p) => `<${p}>`).join(' ')} [options]`, '', def.summary, '', 'options:',
    ...flags.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`)].join('\n');
}

export function parseArgv(argv: string[], def: CommandDef): ParsedArgs {
  const options: Record<string, { type: 'boolean' | 'string'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, f] of Object.entries(def.flags)) options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    return { ok: false, exitCode: 2, text: `${def.name}: ${(e as Error).message}\n\n${helpText(def)}` };
  }
  if (parsed.values.help) return { ok: false, exitCode: 0, text: helpText(def) };
  const variadic = def.positionals.at(-1)?.endsWith('...') ?? false;
  const min = def.positionals.length - (variadic ? 1 : 0);
  if (parsed.positionals.length < min || (!variadic && parsed.positionals.length > def.positionals.length)) {
    const want = def.positionals.map((p) => `<${p}>`).join(' ');
    return { ok: false, exitCode: 2, text: `${def.name}: expected ${want || 'no arguments'}, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'none'}\n\n${helpText(def)}` };
  }
  const { help: _h, ...values } = parsed.values;
  return { ok: true, values: values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
}

/** Parses argv; on --help or a usage error prints the text and returns the exit code instead. */
export function parse(argv: string[], def: CommandDef): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | number {
  const a = parseArgv(argv, def);
  if (a.ok) return a;
  (a.exitCode === 0 ? console.log : console.error)(a.text);
  return a.exitCode;
}
