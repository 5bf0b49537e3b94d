// `repopot` command line: the same engine as the extension, headless.
// Each subcommand lives in its own module; this file only dispatches and reports errors.

import { runGenerate } from './generate';
import { runSelftest } from './selftest';
import { BENCH_SUITES, runBench } from './bench';
import { runModel } from './model';
import { runIngest } from './ingest';
import { runAsk } from './ask';
import { EVAL_SUITES, runEval } from './eval';
import { runSteer } from './steer';
import { runFourier } from './fourier';
import { CliError } from './args';
import { registryEntry, registryNames } from '../util/registry';

type Command = (argv: string[]) => Promise<number>;

const commands: Readonly<Record<string, { run: Command; summary: string }>> = {
  generate: { run: runGenerate, summary: 'generate text from a prompt (or from BOS)' },
  selftest: { run: runSelftest, summary: 'correctness checks of the engine (JSON lines with --json)' },
  bench: { run: runBench, summary: `benchmarks: bench ${registryNames(BENCH_SUITES).join('|')}` },
  model: { run: runModel, summary: 'model setup: model pull NAME | model list' },
  ingest: { run: runIngest, summary: 'stream a repository into the pot (--repo DIR)' },
  ask: { run: runAsk, summary: 'answer a question about a repository, with sources' },
  eval: { run: runEval, summary: `model quality on held-out sets: eval ${EVAL_SUITES.join('|')}` },
  steer: { run: runSteer, summary: 'KV-cache steering vectors: steer build --pairs FILE --out FILE' },
  fourier: { run: runFourier, summary: 'Fourier-approximated KV tier: fourier calibrate --model DIR' },
};

function usage(): string {
  const lines = ['usage: repopot <command> [options]', '', 'commands:'];
  for (const [name, { summary }] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push('', 'Run "repopot <command> --help" for its options.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = registryEntry(commands, name);
  if (!command) {
    process.stderr.write(`repopot: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`repopot: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`repopot: ${message}\n`);
      if (process.env.REPOPOT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    }
  },
);
