// `repopot bench steer [--model DIR] [--vectors FILE] [--json]`: plain | cot | steer on the held-out
// steering split and the held-out multi-hop sets, after tuning c_v × layers on the training split.
import fs from 'node:fs';
import path from 'node:path';
import { multihopQuestions, pairQuestions, rangeLabel, runSteerBench, type SteerQuestion } from '../bench/steerBench';
import { loadPairs } from '../steer/pairs';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, saveSteeringVectors, type SteeringVectors } from '../steer/vectors';
import { CliError, emitJson, floatOption, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { projectRoot, resolveModelDir } from './common';
import { openEngine } from './distillCommon';
import { buildFromPairs, defaultTrainPairs } from './steer';

const HELP = `usage: repopot bench steer [--model DIR] [--vectors FILE] [--train FILE] [--heldout FILE] [--eval-dir DIR]
       [--c-values 0.5,1,2,4,8] [--c-key 0] [--c-value X --layers A-B (skip tuning)] [--tune-limit N] [--limit N]
       [--max-tokens N] [--plot FILE] [--update-vectors] [--json]`;

function numberList(value: string, name: string): number[] {
  const xs = value.split(',').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new CliError(`--${name} must be a comma-separated list of numbers`);
  return xs;
}

function layerRange(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(value);
  if (!m || Number(m[1]) > Number(m[2])) throw new CliError(`--layers must look like A-B (got "${value}")`);
  return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i);
}

export async function runBenchSteer(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    vectors: { type: 'string' },
    train: { type: 'string' },
    heldout: { type: 'string' },
    'eval-dir': { type: 'string' },
    'c-values': { type: 'string' },
    'c-key': { type: 'string' },
    'c-value': { type: 'string' },
    layers: { type: 'string' },
    'tune-limit': { type: 'string' },
    limit: { type: 'string' },
    'max-tokens': { type: 'string' },
    plot: { type: 'string' },
    'update-vectors': { type: 'boolean', default: false },
    device: { type: 'string' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, 'bench steer');
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const log = cliLog;
  const signal = interruptSignal();
  const modelDir = resolveModelDir(values.model);
  const root = projectRoot();
  const train = loadPairs(path.resolve(values.train ?? defaultTrainPairs()));
  const heldoutPairs = loadPairs(path.resolve(values.heldout ?? path.join(root, 'data', 'steering', 'heldout.jsonl')));
  const evalDir = path.resolve(values['eval-dir'] ?? path.join(root, 'data', 'eval'));
  const heldout = new Map<string, SteerQuestion[]>([['heldout', pairQuestions(heldoutPairs)], ['multihop', multihopQuestions(evalDir)]]);
  const engine = await openEngine({ ...values, model: modelDir }, log);
  try {
    const vectorsFile = path.resolve(values.vectors ?? path.join(modelDir, DEFAULT_VECTORS_FILE));
    const identity = { modelHash: engine.model.weightsHash, shape: engine.newCache().shape };
    let vectors: SteeringVectors;
    if (fs.existsSync(vectorsFile)) {
      vectors = await loadSteeringVectors(vectorsFile, identity);
    } else {
      if (values.vectors) throw new CliError(`bench steer: ${vectorsFile} does not exist (build it with "repopot steer build")`);
      log(`no ${vectorsFile}: building vectors from the training split in memory`);
      vectors = await buildFromPairs(engine, train, log, signal);
    }
    const emit = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
    const cValue = values['c-value'] === undefined ? undefined : floatOption(values['c-value'], 'c-value', 0);
    const tuning = await runSteerBench(engine, {
      vectors,
      train,
      heldout,
      heldoutPairs,
      cValues: numberList(values['c-values'] ?? '0.5,1,2,4,8', 'c-values'),
      cKey: floatOption(values['c-key'], 'c-key', 0),
      cValue,
      layers: layerRange(values.layers),
      maxTokens: intOption(values['max-tokens'], 'max-tokens', 64, 1),
      tuneLimit: intOption(values['tune-limit'], 'tune-limit', 60, 1),
      limit: values.limit === undefined ? undefined : intOption(values.limit, 'limit', 0, 1),
      plotFile: path.resolve(values.plot ?? path.join(root, 'docs', 'images', 'steer-sweep.png')),
      signal,
    }, emit);
    if (values['update-vectors'] && cValue === undefined) {
      // Tuned on the training split only; stored with the vectors so Ask uses them as defaults.
      // The verdict Ask uses to steer by default: the multi-hop gain when measured, else the held-out split's.
      const gain = tuning.steerMinusPlain.get('multihop') ?? tuning.steerMinusPlain.get('heldout');
      await saveSteeringVectors(vectorsFile, { ...vectors, defaultCValue: tuning.cValue, defaultLayers: tuning.layers, evaluatedGain: gain });
      log(`stored c_v = ${tuning.cValue}, layers ${rangeLabel(tuning.layers)}, evaluated gain ${gain ?? 'n/a'} in ${vectorsFile}`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
