// `repopot eval lookup [--model DIR] [--limit N] [--json]`: the model's own quality, full context.
import path from 'node:path';
import { runLookupEval } from '../eval/lookupEval';
import { CliError, emitJson, helpText, intOption, interruptSignal, optionalInt, parseCommand, cliLog, type CommandSpec } from './args';
import { loadEngine, modelChoice, modelOptions, numberList, projectRoot } from './common';

const evalFlags = {
  ...modelOptions(),
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out sets', shows: 'data/eval' },
  limit: { type: 'string', value: 'N', help: 'questions per set', shows: 'all' },
  'max-tokens': { type: 'string', value: 'N', help: 'longest answer, in tokens', shows: 48 },
  types: { type: 'string', value: 'T,T', help: 'question types (where, const, ...)', shows: 'all' },
  contexts: { type: 'string', value: 'N,N', help: 'context lengths', shows: 'the sets\'' },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
} as const;

export const evalCommand = {
  name: 'eval lookup',
  summary: 'The model\'s own quality on the held-out lookup sets, at full context: exact match per type, language and context.',
  options: evalFlags,
} as const satisfies CommandSpec<typeof evalFlags>;

export const EVAL_SUITES = ['lookup'] as const;

export async function runEval(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (suite === '--help' || suite === '-h') {
    process.stdout.write(helpText(evalCommand) + '\n');
    return 0;
  }
  if (suite !== 'lookup') throw new CliError(`eval: choose a suite: ${EVAL_SUITES.join(', ')} (see "repopot eval lookup --help")`);
  const parsed = parseCommand(rest, evalCommand);
  if (!parsed) return 0;
  const { values } = parsed;
  const options = {
    evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
    limit: optionalInt(values.limit, 'limit', 1),
    maxTokens: intOption(values['max-tokens'], 'max-tokens', evalFlags['max-tokens'].shows, 1),
    types: values.types?.split(','),
    contexts: numberList(values.contexts, 'contexts', (x) => Number.isInteger(x) && x >= 1, 'positive integers'),
    signal: interruptSignal(),
  };
  const engine = await loadEngine(modelChoice(values), cliLog);
  try {
    await runLookupEval(engine, options, values.json ? emitJson : (line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    return 0;
  } finally {
    await engine.dispose();
  }
}
