// `auto`: use the parallel decoder only where it is faster on this device. Measured once per (model, device,
// weight format) on a short generation, remembered in <cacheDir>/decoder-choice.json (written atomically).

import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { sampleTokens } from '../util/random';
import { ParallelDecoder } from './parallelExact';
import { SequentialDecoder } from './sequential';
import type { Decoder } from '../engine/decoder';

export const CHOICE_FILE = 'decoder-choice.json';

export interface DecoderChoice {
  choice: 'sequential' | 'parallel';
  sequentialTokensPerSecond: number;
  parallelTokensPerSecond: number;
  block: number;
  measuredAt: string;
}

type ChoiceFile = Record<string, DecoderChoice>;

export interface AutoSelectOptions {
  cacheDir: string;
  block?: number;
  /** Tokens generated per measurement (default 48). */
  measureTokens?: number;
  /** Parallel must beat sequential by this factor to be chosen (default 1.1: noise is not a win). */
  margin?: number;
  /** Measure again even if a choice is remembered. */
  remeasure?: boolean;
  log?: (message: string) => void;
}

export function choiceKey(engine: Engine): string {
  return `${engine.model.weightsHash}|${engine.device}|${engine.weightFormat}`;
}

function readChoices(file: string): ChoiceFile {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ChoiceFile) : {};
  } catch {
    return {}; // absent or damaged: measure again
  }
}

/** Write to a temporary file beside the target, then rename: readers never see half a file. */
function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/** Times sequential and parallel greedy decoding of the same prompt (a repetitive one, as answers about code are). */
export async function measureDecoders(engine: Engine, block: number, tokens: number): Promise<Omit<DecoderChoice, 'choice' | 'measuredAt'>> {
  const tokenizer = engine.model.tokenizer;
  const sample = 'export function parse(input: string): Result {\n  const result = parseInput(input);\n  return result;\n}\n';
  let prompt = tokenizer ? tokenizer.encode(sample.repeat(3)) : [];
  if (prompt.length === 0) prompt = sampleTokens(24, engine.config.vocabSize, 5);
  const bos = engine.config.bosTokenId;
  if (bos !== undefined) prompt = [bos, ...prompt];
  const base = engine.newCache();
  await engine.prefill(base, prompt);
  const options = { maxTokens: tokens };
  const time = async (decoder: Decoder): Promise<number> => {
    await decoder.generate(base.clone(), [], { maxTokens: 4 }); // warm the graph variant
    const started = performance.now();
    const r = await decoder.generate(base.clone(), [], { ...options, history: prompt });
    return r.tokens.length / Math.max(1e-9, (performance.now() - started) / 1000);
  };
  const sequentialTokensPerSecond = await time(new SequentialDecoder(engine));
  const parallelTokensPerSecond = await time(new ParallelDecoder(engine, { block }));
  return { sequentialTokensPerSecond, parallelTokensPerSecond, block };
}

/** The remembered choice for this engine, measuring (and remembering) it the first time. */
export async function chooseDecoder(engine: Engine, options: AutoSelectOptions): Promise<DecoderChoice> {
  const file = path.join(options.cacheDir, CHOICE_FILE);
  const key = choiceKey(engine);
  const block = options.block ?? new ParallelDecoder(engine).block;
  const known = readChoices(file)[key];
  if (known && !options.remeasure && known.block === block) return known;
  const measured = await measureDecoders(engine, block, options.measureTokens ?? 48);
  const choice: DecoderChoice = {
    ...measured,
    choice: measured.parallelTokensPerSecond > measured.sequentialTokensPerSecond * (options.margin ?? 1.1) ? 'parallel' : 'sequential',
    measuredAt: new Date().toISOString(),
  };
  options.log?.(`decoder auto: sequential ${measured.sequentialTokensPerSecond.toFixed(1)} tok/s, parallel ${measured.parallelTokensPerSecond.toFixed(1)} tok/s → ${choice.choice}`);
  // Re-read just before writing so a choice another process remembered meanwhile is kept.
  writeAtomically(file, JSON.stringify({ ...readChoices(file), [key]: choice }, null, 2) + '\n');
  return choice;
}
