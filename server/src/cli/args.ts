// Small helpers shared by the CLI subcommands: typed option parsing and user-facing errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** An error in how the command was called (exit code 2, no stack trace). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, command: string, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new CliError(`${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer ≥ ${min} (got "${value}")`);
  return n;
}

export function floatOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number (got "${value}")`);
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
