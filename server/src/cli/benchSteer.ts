// `repopot bench steer [--model DIR] [--vectors FILE] [--json]`: plain | cot | steer on the held-out
// steering split and the held-out multi-hop sets, after tuning c_v × layers on the training split.
import fs from 'node:fs';
import path from 'node:path';
import { multihopQuestions, pairQuestions, rangeLabel, runSteerBench, type SteerQuestion } from '../bench/steerBench';
import { loadPairs } from '../steer/pairs';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, saveSteeringVectors, type SteeringVectors } from '../steer/vectors';
import { CliError, cliLog, command, emitJson, floatOption, intOption, interruptSignal, optionalInt, runCommand, type Values } from './args';
import { loadEngine, modelChoice, modelOptions, numberList, projectRoot, withEngine } from './common';
import { buildFromPairs, defaultTrainPairs } from './steer';

const benchSteerFlags = {
  ...modelOptions(),
  vectors: { type: 'string', value: 'FILE', help: 'steering vectors (built in memory from --train when absent)', shows: `DIR/${DEFAULT_VECTORS_FILE}` },
  train: { type: 'string', value: 'FILE', help: 'training pairs (tuning)', shows: 'data/steering/train.jsonl' },
  heldout: { type: 'string', value: 'FILE', help: 'held-out pairs', shows: 'data/steering/heldout.jsonl' },
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out multi-hop sets', shows: 'data/eval' },
  'c-values': { type: 'string', value: 'X,X', help: 'value strengths tried when tuning', shows: '0.5,1,2,4,8' },
  'c-key': { type: 'string', value: 'X', help: 'key strength', shows: 0 },
  'c-value': { type: 'string', value: 'X', help: 'value strength (with --layers: skip tuning)', shows: 'tuned' },
  layers: { type: 'string', value: 'A-B', help: 'steered layers (with --c-value: skip tuning)', shows: 'tuned' },
  'tune-limit': { type: 'string', value: 'N', help: 'training questions used for tuning', shows: 60 },
  limit: { type: 'string', value: 'N', help: 'held-out questions', shows: 'all' },
  'max-tokens': { type: 'string', value: 'N', help: 'longest answer, in tokens', shows: 64 },
  plot: { type: 'string', value: 'FILE', help: 'sweep plot', shows: 'docs/images/steer-sweep.png' },
  'update-vectors': { type: 'boolean', default: false, help: 'store the tuned strength, layers and gain in the vectors file' },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
} as const;

export const benchSteerCommand = command('bench steer', benchSteerFlags, {
  summary: 'plain | cot | steer on the held-out steering split and the held-out multi-hop sets, after tuning c_v × layers on the training split.',
});

function layerRange(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(value);
  if (!m || Number(m[1]) > Number(m[2])) throw new CliError(`--layers must look like A-B (got "${value}")`);
  return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i);
}

export const runBenchSteer = (argv: string[]): Promise<number> => runCommand(argv, benchSteerCommand, benchSteer);

async function benchSteer(values: Values<typeof benchSteerFlags>): Promise<number> {
  const log = cliLog;
  const signal = interruptSignal();
  const cValues = numberList(values['c-values'] ?? benchSteerFlags['c-values'].shows, 'c-values')!;
  const cKey = floatOption(values['c-key'], 'c-key', benchSteerFlags['c-key'].shows);
  const cValue = values['c-value'] === undefined ? undefined : floatOption(values['c-value'], 'c-value', 0);
  const layers = layerRange(values.layers);
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', benchSteerFlags['max-tokens'].shows, 1);
  const tuneLimit = intOption(values['tune-limit'], 'tune-limit', benchSteerFlags['tune-limit'].shows, 1);
  const limit = optionalInt(values.limit, 'limit', 1);
  const model = modelChoice(values);
  const modelDir = model.modelDir;
  const root = projectRoot();
  const train = loadPairs(path.resolve(values.train ?? defaultTrainPairs()));
  const heldoutPairs = loadPairs(path.resolve(values.heldout ?? path.join(root, 'data', 'steering', 'heldout.jsonl')));
  const evalDir = path.resolve(values['eval-dir'] ?? path.join(root, 'data', 'eval'));
  const heldout = new Map<string, SteerQuestion[]>([['heldout', pairQuestions(heldoutPairs)], ['multihop', multihopQuestions(evalDir)]]);
  return withEngine(loadEngine(model, log), async (engine) => {
    const vectorsFile = path.resolve(values.vectors ?? path.join(modelDir, DEFAULT_VECTORS_FILE));
    const identity = { modelHash: engine.model.weightsHash, shape: engine.cacheShape };
    let vectors: SteeringVectors;
    if (fs.existsSync(vectorsFile)) {
      vectors = await loadSteeringVectors(vectorsFile, identity);
    } else {
      if (values.vectors) throw new CliError(`bench steer: ${vectorsFile} does not exist (build it with "repopot steer build")`);
      log(`no ${vectorsFile}: building vectors from the training split in memory`);
      vectors = await buildFromPairs(engine, train, log, signal);
    }
    const tuning = await runSteerBench(engine, {
      vectors,
      train,
      heldout,
      heldoutPairs,
      cValues,
      cKey,
      cValue,
      layers,
      maxTokens,
      tuneLimit,
      limit,
      plotFile: path.resolve(values.plot ?? path.join(root, 'docs', 'images', 'steer-sweep.png')),
      signal,
    }, emitJson);
    if (values['update-vectors'] && cValue === undefined) {
      // Tuned on the training split only; stored with the vectors so Ask uses them as defaults.
      // The verdict Ask uses to steer by default: the multi-hop gain when measured, else the held-out split's.
      const gain = tuning.steerMinusPlain.get('multihop') ?? tuning.steerMinusPlain.get('heldout');
      await saveSteeringVectors(vectorsFile, { ...vectors, defaultCValue: tuning.cValue, defaultLayers: tuning.layers, evaluatedGain: gain });
      log(`stored c_v = ${tuning.cValue}, layers ${rangeLabel(tuning.layers)}, evaluated gain ${gain ?? 'n/a'} in ${vectorsFile}`);
    }
    return 0;
  });
}
