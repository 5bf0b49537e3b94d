// `repopot eval lookup [--model DIR] [--limit N] [--json]`: the model's own quality, full context.
import path from 'node:path';
import { runLookupEval } from '../eval/lookupEval';
import { CliError, emitJson, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { projectRoot } from './common';
import { openEngine } from './distillCommon';

export async function runEval(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (suite !== 'lookup') throw new CliError('eval: usage: repopot eval lookup [--model DIR] [--eval-dir DIR] [--limit N] [--types where,const,...] [--contexts 1024,2048] [--json]');
  const { values } = parseOptions(rest, {
    model: { type: 'string' },
    'eval-dir': { type: 'string' },
    limit: { type: 'string' },
    'max-tokens': { type: 'string' },
    types: { type: 'string' },
    contexts: { type: 'string' },
    device: { type: 'string' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'eval lookup');
  const engine = await openEngine(values, cliLog);
  try {
    await runLookupEval(engine, {
      evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
      limit: values.limit === undefined ? undefined : intOption(values.limit, 'limit', 0, 1),
      maxTokens: intOption(values['max-tokens'], 'max-tokens', 48, 1),
      types: values.types?.split(','),
      contexts: values.contexts?.split(',').map((c) => intOption(c, 'contexts', 1024, 1)),
      signal: interruptSignal(),
    }, values.json ? emitJson : (line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    return 0;
  } finally {
    await engine.dispose();
  }
}
