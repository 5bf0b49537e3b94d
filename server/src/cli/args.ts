// How every subcommand declares, parses and documents its options: one table per command (name, value, help,
// default) gives parseArgs its config and `--help` its text, so the two cannot drift apart.
import { parseArgs } from 'node:util';

/** An error in how the command was called (exit code 2, no stack trace). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** One option: its parseArgs type and what `--help` says about it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** parseArgs default (booleans only: string options stay undefined when not given). */
  readonly default?: boolean;
  /** Placeholder in the help line: N, DIR, FILE ... (string options). */
  readonly value?: string;
  readonly help: string;
  /** The default as help shows it ("256", "the model's context"); absent: none. */
  readonly shows?: string | number;
  /** Allowed values, listed in help (the parser checks them with choiceOption). */
  readonly choices?: readonly string[];
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<T extends OptionTable> {
  /** "ask", "bench distill" */
  readonly name: string;
  /** What follows "repopot NAME" in the usage line, before the options: '"QUESTION" --repo DIR'. */
  readonly synopsis?: string;
  readonly summary: string;
  readonly options: T;
  readonly positionals?: boolean;
  /** Extra paragraphs after the options. */
  readonly notes?: string;
  /** An option without which the command prints its help and exits 2. */
  readonly required?: string;
}

/** A command's spec from its option table: `command('ingest', distillFlags, { summary, synopsis })`. */
export function command<T extends OptionTable>(name: string, options: T, text: Omit<CommandSpec<T>, 'name' | 'options'>): CommandSpec<T> {
  return { name, options, ...text };
}

/**
 * Every command's preamble: parses argv by the table (`--help` prints the help and exits 0; a missing `required`
 * option prints it and exits 2), then runs `body` with the values and positionals.
 */
export async function runCommand<T extends OptionTable>(argv: string[], spec: CommandSpec<T>, body: (values: Values<T>, positionals: string[]) => Promise<number>): Promise<number> {
  const parsed = parseCommand(argv, spec);
  if (!parsed) return 0;
  if (spec.required && !(parsed.values as Record<string, unknown>)[spec.required]) {
    process.stdout.write(helpText(spec) + '\n');
    return 2;
  }
  return body(parsed.values, parsed.positionals);
}

const HELP_OPTION = { type: 'boolean', default: false, help: 'show this help and exit' } as const satisfies OptionSpec;
const withHelp = (options: OptionTable): [string, OptionSpec][] => Object.entries({ ...options, help: HELP_OPTION });

/** The `--help` text of a command, generated from its table. */
export function helpText<T extends OptionTable>(spec: CommandSpec<T>): string {
  const lines = [`usage: repopot ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''} [options]`, '', spec.summary, '', 'options:'];
  const entries = withHelp(spec.options);
  const left = entries.map(([name, o]) => `--${name}${o.type === 'string' ? ` ${o.value ?? 'X'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  entries.forEach(([, o], i) => {
    let text = o.help;
    if (o.choices) text += `: ${o.choices.join('|')}`;
    if (o.multiple) text += ' (repeatable)';
    if (o.shows !== undefined) text += ` (default ${o.shows})`;
    lines.push(`  ${left[i]!.padEnd(width)}${text}`);
  });
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

type ParseConfigOf<T extends OptionTable> = { args: string[]; options: T & { help: typeof HELP_OPTION }; allowPositionals: boolean; strict: true };
export type Parsed<T extends OptionTable> = ReturnType<typeof parseArgs<ParseConfigOf<T>>>;
/** The parsed option values of a command with table T. */
export type Values<T extends OptionTable> = Parsed<T>['values'];

/**
 * Parses argv by the command's table. `--help` prints the generated help and returns undefined (exit 0): callers
 * return 0 before doing anything else. Unknown options and missing values are CliErrors naming the command.
 */
export function parseCommand<T extends OptionTable>(argv: string[], spec: CommandSpec<T>): Parsed<T> | undefined {
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: boolean }> = {};
  for (const [name, o] of withHelp(spec.options)) {
    config[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  let parsed: Parsed<T>;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: spec.positionals ?? false, strict: true }) as unknown as Parsed<T>;
  } catch (error) {
    // `--help` anywhere wins over other mistakes on the line.
    if (argv.includes('--help') || argv.includes('-h')) return printHelp(spec);
    throw new CliError(`${spec.name}: ${error instanceof Error ? error.message : String(error)} (see "repopot ${spec.name} --help")`);
  }
  if ((parsed.values as { help?: boolean }).help) return printHelp(spec);
  return parsed;
}

function printHelp<T extends OptionTable>(spec: CommandSpec<T>): undefined {
  process.stdout.write(helpText(spec) + '\n');
  return undefined;
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer ≥ ${min} (got "${value}")`);
  return n;
}

/** An integer option without a fallback: undefined when not given. */
export function optionalInt(value: string | undefined, name: string, min = 0): number | undefined {
  return value === undefined ? undefined : intOption(value, name, 0, min);
}

export function floatOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${name} must be a number (got "${value}")`);
  return n;
}

export function choiceOption<C extends string>(value: string | undefined, name: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new CliError(`--${name} must be one of ${choices.join(', ')} (got "${value}")`);
  return value as C;
}

/** Writes one JSON object per line (benchmarks, selftest). */
export function emitJson(line: object): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Ctrl-C cancels the running job through an AbortSignal instead of killing mid-write. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}

/** Progress and notices on stderr, prefixed, so stdout stays clean for answers and JSON lines. */
export function cliLog(message: string): void {
  process.stderr.write(`repopot: ${message}\n`);
}
