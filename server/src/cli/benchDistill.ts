// `repopot bench distill --suite niah|lookup|cost|fourier [--policies a,b] [--budgets N,M] [--json]`
// fourier: [--model DIR | --ortgenai DIR | --random llama|qwen2|qwen3] [--fourier FILE] [--sequences N] [--continuation N] [--no-retrieval]
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { costSummary, DEFAULT_COST_STREAMS, DEFAULT_LOOKUP_TYPES, FULL_CACHE_COST_LIMIT, LOOKUP_TYPES, runDistillBench, parseBenchPolicy, type CostMeasurement, type DistillSuite, type LookupType } from '../bench/distillBench';
import { POLICY_NAMES } from '../distill/policies/policy';
import { choiceOption, CliError, emitJson, interruptSignal, parseCommand, cliLog, type CommandSpec, type Parsed } from './args';
import { kvDtypeChoice, loadEngine, modelChoice, modelOptions, numberList, projectRoot } from './common';
import { Engine } from '../engine/engine';
import type { Architecture } from '../model/config';
import { randomModel } from '../selftest/checks';
import { runFourierSuite } from '../bench/fourierSuite';
import { loadLayout } from '../fourier/layout';
import { fourierLayoutOf } from '../distill/distiller';
import { PACKAGE_SPLITS } from '../eval/evalSet';

const DISTILL_SUITES = ['niah', 'lookup', 'cost', 'fourier'] as const satisfies readonly DistillSuite[];
const RANDOM_ARCHITECTURES = ['llama', 'qwen2', 'qwen3'] as const satisfies readonly Architecture[];

function list(value: string | undefined, name: string): number[] | undefined {
  return numberList(value, name, (x) => Number.isFinite(x) && x > 0, 'positive numbers');
}

const benchDistillFlags = {
  suite: { type: 'string', value: 'S', help: 'which benchmark', choices: DISTILL_SUITES, shows: 'niah' },
  ...modelOptions(),
  policies: { type: 'string', value: 'P,P', help: 'policy specs (name[:key=value][+refine=share][+reread=N][+snap][+values][+repack|+reencode][+fourier])', shows: `every policy (infinipot,full for cost)` },
  budgets: { type: 'string', value: 'N,N', help: 'pot budgets', shows: 'the suite\'s' },
  lengths: { type: 'string', value: 'N,N', help: 'niah haystack lengths', shows: 'the suite\'s' },
  depths: { type: 'string', value: 'X,X', help: 'niah needle depths (0-1)', shows: 'the suite\'s' },
  trials: { type: 'string', value: 'N', help: 'niah trials per cell', shows: 'the suite\'s' },
  streams: { type: 'string', value: 'N,N', help: 'stream lengths in tokens (lookup, cost); lookup --bare: the largest repository asked about (lines report the largest one asked)', shows: 'the suite\'s' },
  limit: { type: 'string', value: 'N', help: 'lookup questions', shows: 'all' },
  types: { type: 'string', value: 'T,T', help: `lookup: question types, asked in turn (${LOOKUP_TYPES.join(', ')})`, shows: DEFAULT_LOOKUP_TYPES.join(',') },
  split: { type: 'string', value: 'S', help: 'lookup: only questions from one half of the held-out packages (fourier calibrate --objective lookup uses calibration)', choices: PACKAGE_SPLITS, shows: 'both' },
  bare: { type: 'boolean', default: false, help: 'lookup: each record\'s repository alone, without other held-out code around it' },
  answers: { type: 'boolean', default: false, help: 'lookup: one JSON line per question with its answer' },
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out sets', shows: 'data/eval' },
  'plot-dir': { type: 'string', value: 'DIR', help: 'where plots are written', shows: 'docs/images' },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
  'in-process': { type: 'boolean', default: false, help: 'cost: measure in this process (the default runs one fresh process per measurement)' },
  random: { type: 'string', value: 'ARCH', help: 'fourier: a random-weight model of this architecture instead of --model', choices: RANDOM_ARCHITECTURES },
  ortgenai: { type: 'string', value: 'DIR', help: 'fourier: an onnxruntime-genai export instead of --model (pseudo-text streams)' },
  fourier: { type: 'string', value: 'FILE', help: 'fourier: the calibration to use', shows: 'fourier.json beside the model, else calibrated now' },
  sequences: { type: 'string', value: 'N', help: 'fourier: held-out sequences for the loss', shows: 'the suite\'s' },
  continuation: { type: 'string', value: 'N', help: 'fourier: tokens scored after each pot', shows: 'the suite\'s' },
  'no-retrieval': { type: 'boolean', default: false, help: 'fourier: skip the needle and lookup rows' },
} as const;

export const benchDistillCommand = {
  name: 'bench distill',
  summary: 'Cache policies on needle-in-a-haystack, lookup questions, and cost (peak memory, compression share); fourier: the Fourier tier against the plain pot at the same bytes.',
  options: benchDistillFlags,
} as const satisfies CommandSpec<typeof benchDistillFlags>;

export async function runBenchDistill(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, benchDistillCommand);
  if (!parsed) return 0;
  const { values } = parsed;
  const suite = choiceOption<DistillSuite>(values.suite, 'suite', DISTILL_SUITES, 'niah');
  const policies = (values.policies ?? (suite === 'cost' ? 'infinipot,full' : POLICY_NAMES.join(','))).split(',');
  // The Fourier tier holds fp32 K/V (fourier/tier.ts): refused here, before any model loads.
  if ((suite === 'fourier' || policies.some((p) => p.includes('+fourier'))) && kvDtypeChoice(values['kv-dtype']) !== 'fp32') {
    throw new CliError('the Fourier tier needs the fp32 KV cache: drop --kv-dtype fp16 (suite fourier and +fourier policies)');
  }
  if (suite === 'fourier') return runFourierCli(values);
  for (const p of policies) {
    try {
      parseBenchPolicy(p);
    } catch (error) {
      throw new CliError(`--policies: ${(error as Error).message}`);
    }
  }
  if (suite === 'cost' && !values['in-process']) {
    modelChoice(values); // checked here, before the first child process
    return runCostIsolated(argv, policies, list(values.streams, 'streams') ?? DEFAULT_COST_STREAMS);
  }
  const options = {
    suite,
    policies,
    ...sharedOptions(values),
    plotDir: values['plot-dir'] ? path.resolve(values['plot-dir']) : path.join(projectRoot(), 'docs', 'images'),
  };
  const engine = await loadEngine(modelChoice(values), cliLog);
  try {
    const emit = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
    // `+fourier` specs need the model's calibration: found (or refused) before the first pot streams.
    const needsTier = policies.some((p) => parseBenchPolicy(p).fourier);
    const fourierLayout = needsTier ? (values.fourier ? loadLayout(path.resolve(values.fourier), engine.cacheShape) : fourierLayoutOf(engine)) : undefined;
    await runDistillBench(engine, { ...options, fourierLayout }, emit);
    return 0;
  } finally {
    await engine.dispose();
  }
}

/**
 * The cost suite, one fresh process per (policy, stream length): peak RSS is a process-wide high-water
 * mark, so measurements sharing a process would inherit each other's peaks and heap growth.
 */
async function runCostIsolated(argv: string[], policies: string[], streams: number[]): Promise<number> {
  const script = process.argv[1];
  const passThrough = stripOptions(argv, ['policies', 'streams']);
  const measured: CostMeasurement[] = [];
  const signal = interruptSignal();
  for (const policy of policies) {
    for (const streamTokens of streams) {
      if (policy === 'full' && streamTokens > FULL_CACHE_COST_LIMIT) continue;
      if (signal.aborted) return 130;
      cliLog(`cost: ${policy}, ${streamTokens} tokens (fresh process)`);
      const child = spawn(process.execPath, ['--expose-gc', script, 'bench', 'distill', ...passThrough, '--in-process', '--json', '--policies', policy, '--streams', String(streamTokens)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const onAbort = () => child.kill('SIGINT');
      signal.addEventListener('abort', onAbort);
      for await (const line of readline.createInterface({ input: child.stdout })) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.summary) continue;
        process.stdout.write(line + '\n');
        measured.push({
          policy,
          streamTokens,
          peakRssBytes: Number(parsed.peakRssBytes),
          compressionShare: Number(parsed.compressionShare),
        });
      }
      const code = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c ?? 1))));
      signal.removeEventListener('abort', onAbort);
      if (code !== 0) throw new CliError(`bench distill: the cost measurement for ${policy} at ${streamTokens} tokens exited with code ${code}`);
    }
  }
  emitJson(costSummary(measured, policies[0]));
  return 0;
}

function lookupTypes(value: string | undefined): LookupType[] | undefined {
  if (value === undefined) return undefined;
  const types = value.split(',').map((t) => t.trim());
  for (const t of types) if (!(LOOKUP_TYPES as readonly string[]).includes(t)) throw new CliError(`--types: "${t}" is not a lookup type (${LOOKUP_TYPES.join(', ')})`);
  return types as LookupType[];
}

/** The options every suite reads (sizes, trials, the eval sets, cancellation), checked before the model loads. */
function sharedOptions(values: Parsed<typeof benchDistillFlags>['values']) {
  return {
    budgets: list(values.budgets, 'budgets'),
    lengths: list(values.lengths, 'lengths'),
    depths: numberList(values.depths, 'depths', (x) => x >= 0 && x <= 1, 'shares in [0, 1]'),
    trials: list(values.trials, 'trials')?.[0],
    streamTokens: list(values.streams, 'streams'),
    limit: list(values.limit, 'limit')?.[0],
    types: lookupTypes(values.types),
    bare: values.bare,
    answers: values.answers,
    split: values.split === undefined ? undefined : choiceOption(values.split, 'split', PACKAGE_SPLITS, 'evaluation'),
    evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
    signal: interruptSignal(),
  };
}

async function runFourierCli(values: Parsed<typeof benchDistillFlags>['values']): Promise<number> {
  // Everything is checked before the model loads.
  const options = {
    suite: 'fourier' as const,
    policies: [],
    ...sharedOptions(values),
    sequences: list(values.sequences, 'sequences')?.[0],
    continuation: list(values.continuation, 'continuation')?.[0],
    retrieval: !values['no-retrieval'],
    log: cliLog,
  };
  let engine: Engine;
  let model: string;
  if (values.random !== undefined) {
    const arch = choiceOption<Architecture>(values.random, 'random', RANDOM_ARCHITECTURES, 'llama');
    engine = await Engine.fromModel(randomModel(arch, { maxPositions: 1024 }, 7), { log: cliLog });
    model = `random-${arch}`;
  } else if (values.ortgenai !== undefined) {
    // An onnxruntime-genai export (weights imported into our graph; no tokenizer: pseudo-text streams).
    const { importOrtGenaiModel } = await import('../graph/ortgenaiImport');
    const imported = importOrtGenaiModel(path.resolve(values.ortgenai));
    engine = await Engine.fromModel({ config: imported.config, weights: imported.weights, weightsHash: `ortgenai:${imported.modelPath}` }, { log: cliLog });
    model = path.basename(path.resolve(values.ortgenai));
  } else {
    engine = await loadEngine(modelChoice(values), cliLog);
    model = path.basename(engine.model.dir ?? 'model');
  }
  try {
    const emit = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
    const shape = { numLayers: engine.config.numLayers, numKvHeads: engine.config.numKvHeads, headDim: engine.config.headDim };
    await runFourierSuite(engine, { ...options, model, fourierLayout: values.fourier ? loadLayout(path.resolve(values.fourier), shape) : undefined }, emit);
    return 0;
  } finally {
    await engine.dispose();
  }
}

/** argv without the named `--name value` / `--name=value` options. */
function stripOptions(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = names.find((n) => argv[i] === `--${n}` || argv[i].startsWith(`--${n}=`));
    if (!name) out.push(argv[i]);
    else if (argv[i] === `--${name}`) i++;
  }
  return out;
}
