// `repopot bench distill --suite niah|lookup|cost [--policies a,b] [--budgets N,M] [--json]`
import path from 'node:path';
import { runDistillBench, type DistillSuite } from '../bench/distillBench';
import { POLICY_NAMES, type PolicyName } from '../distill/policies/policy';
import { choiceOption, CliError, emitJson, interruptSignal, parseOptions, cliLog } from './args';
import { projectRoot } from './common';
import { openEngine } from './distillCommon';

function list(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = value.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new CliError(`--${name} must be a comma-separated list of positive numbers`);
  return xs;
}

export async function runBenchDistill(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    suite: { type: 'string' },
    model: { type: 'string' },
    policies: { type: 'string' },
    budgets: { type: 'string' },
    lengths: { type: 'string' },
    depths: { type: 'string' },
    trials: { type: 'string' },
    streams: { type: 'string' },
    limit: { type: 'string' },
    'eval-dir': { type: 'string' },
    'plot-dir': { type: 'string' },
    device: { type: 'string' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'bench distill');
  const suite = choiceOption<DistillSuite>(values.suite, 'suite', ['niah', 'lookup', 'cost'], 'niah');
  const policies = (values.policies ?? (suite === 'cost' ? 'infinipot,full' : POLICY_NAMES.join(','))).split(',') as PolicyName[];
  for (const p of policies) if (!POLICY_NAMES.includes(p)) throw new CliError(`--policies: unknown policy "${p}" (choose from ${POLICY_NAMES.join(', ')})`);
  const engine = await openEngine(values, cliLog);
  try {
    const emit = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
    await runDistillBench(engine, {
      suite,
      policies,
      budgets: list(values.budgets, 'budgets'),
      lengths: list(values.lengths, 'lengths'),
      depths: values.depths === undefined ? undefined : values.depths.split(',').map(Number),
      trials: list(values.trials, 'trials')?.[0],
      streamTokens: list(values.streams, 'streams'),
      limit: list(values.limit, 'limit')?.[0],
      evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
      plotDir: values['plot-dir'] ? path.resolve(values['plot-dir']) : path.join(projectRoot(), 'docs', 'images'),
      signal: interruptSignal(),
    }, emit);
    return 0;
  } finally {
    await engine.dispose();
  }
}
