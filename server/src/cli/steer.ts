// `repopot steer build --model DIR --pairs FILE --out FILE`: KV-cache steering vectors from
// contrastive pairs (data/steering/train.jsonl by default), saved next to the model by default.
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { loadPairs } from '../steer/pairs';
import { buildSteeringVectors, DEFAULT_DEMOS, DEFAULT_VECTORS_FILE, saveSteeringVectors, tokenizePairs, type ExtractionMode, type SteeringVectors } from '../steer/vectors';
import type { SteeringPair } from '../steer/pairs';
import { choiceOption, CliError, cliLog, command, emitJson, helpText, intOption, interruptSignal, runCommand, type Values } from './args';
import { loadEngine, modelChoice, modelOptions, projectRoot, withEngine } from './common';

const EXTRACTIONS = ['fewshot-query', 'completion-end'] as const satisfies readonly ExtractionMode[];

const steerBuildFlags = {
  ...modelOptions(),
  pairs: { type: 'string', value: 'FILE', help: 'contrastive pairs (never the held-out split)', shows: 'data/steering/train.jsonl' },
  out: { type: 'string', value: 'FILE', help: 'vectors file', shows: `DIR/${DEFAULT_VECTORS_FILE}, next to the model` },
  limit: { type: 'string', value: 'N', help: 'use the first N pairs (0: all)', shows: 0 },
  extraction: { type: 'string', value: 'MODE', help: 'fewshot-query (the paper\'s): demos with/without traces then the pair\'s prompt, read at the slot the edit targets; completion-end: one pair\'s prompt + completion, last token', choices: EXTRACTIONS, shows: 'fewshot-query' },
  demos: { type: 'string', value: 'N', help: 'demonstrations per example (fewer when the context is short)', shows: DEFAULT_DEMOS },
  json: { type: 'boolean', default: false, help: 'one JSON line' },
} as const;

export const steerBuildCommand = command('steer build', steerBuildFlags, { summary: 'Builds KV-cache steering vectors from contrastive pairs.' });

export function defaultTrainPairs(): string {
  return path.join(projectRoot(), 'data', 'steering', 'train.jsonl');
}

/** Builds vectors from the pairs that fit the model's context; reports how many were skipped. */
export async function buildFromPairs(engine: Engine, pairs: readonly SteeringPair[], log: (m: string) => void, signal?: AbortSignal, extraction: ExtractionMode = 'fewshot-query', demos = DEFAULT_DEMOS): Promise<SteeringVectors> {
  const tokenized = tokenizePairs(engine, pairs, { mode: extraction, demos });
  const fitting = tokenized.filter((p) => Math.max(p.positive.length, p.negative.length) <= engine.config.maxPositions);
  if (fitting.length < pairs.length) log(`skipped ${pairs.length - fitting.length} pairs that do not fit the ${engine.config.maxPositions}-token context`);
  if (fitting.length === 0) throw new CliError('steer build: no pair fits the model\'s context');
  return buildSteeringVectors(engine, fitting, { extraction, signal, onProgress: (done, total) => { if (done % 20 === 0 || done === total) log(`pairs ${done}/${total}`); } });
}

export async function runSteer(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === undefined) {
    process.stdout.write(helpText(steerBuildCommand) + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'build') throw new CliError(`steer: unknown subcommand "${verb}" (use: steer build)`);
  return runCommand(rest, steerBuildCommand, (values) => steerBuild(values));
}

async function steerBuild(values: Values<typeof steerBuildFlags>): Promise<number> {
  const log = cliLog;
  const limit = intOption(values.limit, 'limit', steerBuildFlags.limit.shows, 0);
  const extraction = choiceOption<ExtractionMode>(values.extraction, 'extraction', EXTRACTIONS, 'fewshot-query');
  const demos = intOption(values.demos, 'demos', DEFAULT_DEMOS, 1);
  const model = modelChoice(values);
  const pairsFile = path.resolve(values.pairs ?? defaultTrainPairs());
  const out = path.resolve(values.out ?? path.join(model.modelDir, DEFAULT_VECTORS_FILE));
  let pairs = loadPairs(pairsFile);
  if (limit > 0) pairs = pairs.slice(0, limit);
  return withEngine(loadEngine(model, log), async (engine) => {
    const started = performance.now();
    const vectors = await buildFromPairs(engine, pairs, log, interruptSignal(), extraction, demos);
    await saveSteeringVectors(out, vectors);
    const line = { out, pairs: vectors.pairs, layers: vectors.layers, extractionPosition: vectors.extractionPosition, modelHash: vectors.modelHash, seconds: (performance.now() - started) / 1000 };
    if (values.json) emitJson(line);
    else process.stdout.write(`wrote ${out}: ${vectors.pairs} pairs, layers ${vectors.layers[0]}-${vectors.layers[vectors.layers.length - 1]}\n`);
    return 0;
  });
}
