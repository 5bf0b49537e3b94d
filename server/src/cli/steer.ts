// `repopot steer build --model DIR --pairs FILE --out FILE`: KV-cache steering vectors from
// contrastive pairs (data/steering/train.jsonl by default), saved next to the model by default.
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { loadPairs } from '../steer/pairs';
import { buildSteeringVectors, DEFAULT_DEMOS, DEFAULT_VECTORS_FILE, saveSteeringVectors, tokenizePairs, type ExtractionMode, type SteeringVectors } from '../steer/vectors';
import type { SteeringPair } from '../steer/pairs';
import { choiceOption, CliError, emitJson, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { projectRoot, resolveModelDir } from './common';
import { openEngine } from './distillCommon';

const HELP = `usage: repopot steer build [--model DIR] [--pairs FILE] [--out FILE] [--limit N] [--extraction fewshot-query|completion-end] [--demos N] [--device D] [--quant Q] [--json]
  --pairs       contrastive pairs (default data/steering/train.jsonl; never the held-out split)
  --extraction  fewshot-query (default, the paper's): demos with/without traces then the pair's prompt,
                read at the slot the edit targets; completion-end: one pair's prompt + completion, last token
  --demos       demonstrations per example (default ${DEFAULT_DEMOS}; fewer when the context is short)
  --out         vectors file (default DIR/${DEFAULT_VECTORS_FILE}, next to the model)`;

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
    process.stdout.write(HELP + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'build') throw new CliError(`steer: unknown subcommand "${verb}" (use: steer build)`);
  const { values } = parseOptions(rest, {
    model: { type: 'string' },
    pairs: { type: 'string' },
    out: { type: 'string' },
    limit: { type: 'string' },
    extraction: { type: 'string' },
    demos: { type: 'string' },
    device: { type: 'string' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, 'steer build');
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const log = cliLog;
  const modelDir = resolveModelDir(values.model);
  const pairsFile = path.resolve(values.pairs ?? defaultTrainPairs());
  const out = path.resolve(values.out ?? path.join(modelDir, DEFAULT_VECTORS_FILE));
  let pairs = loadPairs(pairsFile);
  const limit = intOption(values.limit, 'limit', 0, 0);
  if (limit > 0) pairs = pairs.slice(0, limit);
  const engine = await openEngine({ ...values, model: modelDir }, log);
  try {
    const started = performance.now();
    const extraction = choiceOption<ExtractionMode>(values.extraction, 'extraction', ['fewshot-query', 'completion-end'], 'fewshot-query');
    const vectors = await buildFromPairs(engine, pairs, log, interruptSignal(), extraction, intOption(values.demos, 'demos', DEFAULT_DEMOS, 1));
    await saveSteeringVectors(out, vectors);
    const line = { out, pairs: vectors.pairs, layers: vectors.layers, extractionPosition: vectors.extractionPosition, modelHash: vectors.modelHash, seconds: (performance.now() - started) / 1000 };
    if (values.json) emitJson(line);
    else process.stdout.write(`wrote ${out}: ${vectors.pairs} pairs, layers ${vectors.layers[0]}-${vectors.layers[vectors.layers.length - 1]}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}
