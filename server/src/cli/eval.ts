// `repopot eval lookup [--model DIR] [--limit N] [--json]`: the model's own quality, full context.
import path from 'node:path';
import { runLookupEval } from '../eval/lookupEval';
import { CliError, cliLog, command, emitJson, helpText, intOption, interruptSignal, optionalInt, runCommand, type Values } from './args';
import { registryEntry, registryNames } from '../util/registry';
import { loadEngine, modelChoice, modelOptions, numberList, projectRoot, withEngine } from './common';

const evalFlags = {
  ...modelOptions(),
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out sets', shows: 'data/eval' },
  limit: { type: 'string', value: 'N', help: 'questions per set', shows: 'all' },
  'max-tokens': { type: 'string', value: 'N', help: 'longest answer, in tokens', shows: 48 },
  types: { type: 'string', value: 'T,T', help: 'question types (where, const, ...)', shows: 'all' },
  contexts: { type: 'string', value: 'N,N', help: 'context lengths', shows: 'the sets\'' },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
  answers: { type: 'boolean', default: false, help: 'one JSON line per question with its answer' },
} as const;

export const evalCommand = command('eval lookup', evalFlags, {
  summary: 'The model\'s own quality on the held-out lookup sets, at full context: exact match per type, language and context.',
});

const evalSuites: Readonly<Record<string, (argv: string[]) => Promise<number>>> = {
  lookup: (argv) => runCommand(argv, evalCommand, (values) => evalLookup(values)),
};

export const EVAL_SUITES = registryNames(evalSuites);

export async function runEval(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (suite === '--help' || suite === '-h') {
    process.stdout.write(helpText(evalCommand) + '\n');
    return 0;
  }
  const run = suite ? registryEntry(evalSuites, suite) : undefined;
  if (!run) throw new CliError(`eval: choose a suite: ${EVAL_SUITES.join(', ')} (see "repopot eval lookup --help")`);
  return run(rest);
}

async function evalLookup(values: Values<typeof evalFlags>): Promise<number> {
  const options = {
    evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
    limit: optionalInt(values.limit, 'limit', 1),
    maxTokens: intOption(values['max-tokens'], 'max-tokens', evalFlags['max-tokens'].shows, 1),
    types: values.types?.split(','),
    contexts: numberList(values.contexts, 'contexts', (x) => Number.isInteger(x) && x >= 1, 'positive integers'),
    answers: values.answers,
    signal: interruptSignal(),
  };
  return withEngine(loadEngine(modelChoice(values), cliLog), async (engine) => {
    await runLookupEval(engine, options, emitJson);
    return 0;
  });
}
