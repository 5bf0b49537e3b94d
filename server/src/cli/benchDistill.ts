// `repopot bench distill --suite niah|lookup|cost|fourier [--policies a,b] [--budgets N,M] [--json]`
// fourier: [--model DIR | --ortgenai DIR | --random llama|qwen2|qwen3] [--fourier FILE] [--sequences N] [--continuation N] [--no-retrieval]
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { costSummary, DEFAULT_COST_STREAMS, FULL_CACHE_COST_LIMIT, runDistillBench, parseBenchPolicy, type CostMeasurement, type DistillSuite } from '../bench/distillBench';
import { POLICY_NAMES } from '../distill/policies/policy';
import { choiceOption, CliError, emitJson, interruptSignal, parseOptions, cliLog } from './args';
import { projectRoot } from './common';
import { openEngine } from './distillCommon';
import { Engine } from '../engine/engine';
import type { Architecture } from '../model/config';
import { randomModel } from '../selftest/checks';
import { runFourierSuite } from '../bench/fourierSuite';
import { loadLayout } from '../fourier/layout';

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
    'in-process': { type: 'boolean', default: false },
    random: { type: 'string' },
    ortgenai: { type: 'string' },
    fourier: { type: 'string' },
    sequences: { type: 'string' },
    continuation: { type: 'string' },
    'no-retrieval': { type: 'boolean', default: false },
  }, 'bench distill');
  const suite = choiceOption<DistillSuite>(values.suite, 'suite', ['niah', 'lookup', 'cost', 'fourier'], 'niah');
  if (suite === 'fourier') return runFourierCli(values);
  const policies = (values.policies ?? (suite === 'cost' ? 'infinipot,full' : POLICY_NAMES.join(','))).split(',');
  for (const p of policies) {
    try {
      parseBenchPolicy(p);
    } catch (error) {
      throw new CliError(`--policies: ${(error as Error).message}`);
    }
  }
  if (suite === 'cost' && !values['in-process']) return runCostIsolated(argv, policies, list(values.streams, 'streams') ?? DEFAULT_COST_STREAMS);
  const engine = await openEngine({ model: values.model, device: values.device, quant: values.quant }, cliLog);
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

async function runFourierCli(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const random = str('random');
  let engine: Engine;
  let model: string;
  if (random !== undefined) {
    const arch = choiceOption<Architecture>(random, 'random', ['llama', 'qwen2', 'qwen3'], 'llama');
    engine = await Engine.fromModel(randomModel(arch, { maxPositions: 1024 }, 7), { log: cliLog });
    model = `random-${arch}`;
  } else if (str('ortgenai') !== undefined) {
    // An onnxruntime-genai export (weights imported into our graph; no tokenizer: pseudo-text streams).
    const { importOrtGenaiModel } = await import('../graph/ortgenaiImport');
    const imported = importOrtGenaiModel(path.resolve(str('ortgenai')!));
    engine = await Engine.fromModel({ config: imported.config, weights: imported.weights, weightsHash: `ortgenai:${imported.modelPath}` }, { log: cliLog });
    model = path.basename(path.resolve(str('ortgenai')!));
  } else {
    engine = await openEngine({ model: str('model'), device: str('device'), quant: str('quant') }, cliLog);
    model = path.basename(engine.model.dir ?? 'model');
  }
  try {
    const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
    const shape = { numLayers: engine.config.numLayers, numKvHeads: engine.config.numKvHeads, headDim: engine.config.headDim };
    await runFourierSuite(engine, {
      suite: 'fourier',
      policies: [],
      model,
      budgets: list(str('budgets'), 'budgets'),
      lengths: list(str('lengths'), 'lengths'),
      depths: str('depths') === undefined ? undefined : str('depths')!.split(',').map(Number),
      trials: list(str('trials'), 'trials')?.[0],
      streamTokens: list(str('streams'), 'streams'),
      limit: list(str('limit'), 'limit')?.[0],
      sequences: list(str('sequences'), 'sequences')?.[0],
      continuation: list(str('continuation'), 'continuation')?.[0],
      retrieval: !values['no-retrieval'],
      fourierLayout: str('fourier') ? loadLayout(path.resolve(str('fourier')!), shape) : undefined,
      evalDir: path.resolve(str('eval-dir') ?? path.join(projectRoot(), 'data', 'eval')),
      signal: interruptSignal(),
      log: cliLog,
    }, emit);
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
