// Decoder selection by name (CLI `--decoder`, the product setting).

import type { Engine } from '../engine/engine';
import { defaultCacheDir } from '../engine/paths';
import { chooseDecoder } from './autoSelect';
import { BlockDiffusionDecoder, type BlockDiffusionOptions } from './blockDiffusion';
import { confidenceDecoder } from './confidence';
import { ParallelDecoder } from './parallelExact';
import { SequentialDecoder } from './sequential';
import type { Decoder } from '../engine/decoder';

export type { Decoder, DecodeOptions, DecodeResult, DecoderName } from '../engine/decoder';
export { SequentialDecoder } from './sequential';
export { ParallelDecoder, DEFAULT_BLOCK } from './parallelExact';
export { confidenceDecoder, DEFAULT_THRESHOLD } from './confidence';
export { BlockDiffusionDecoder } from './blockDiffusion';
export { Drafter } from './drafts';
export { chooseDecoder } from './autoSelect';

import { DECODERS, type DecoderSetting } from '../vocab';
import { registryEntry } from '../util/registry';

export { DECODERS, type DecoderSetting } from '../vocab';

export interface MakeDecoderOptions {
  block?: number;
  threshold?: number;
  /** Repository tokens for n-gram drafts. */
  history?: readonly number[];
  /** Where `auto` remembers its measurement (default: the user cache dir). */
  cacheDir?: string;
  diffusion?: BlockDiffusionOptions;
  log?: (message: string) => void;
}

type DecoderFactory = (engine: Engine, options: MakeDecoderOptions) => Decoder | Promise<Decoder>;

const decoderFactories: Readonly<Record<DecoderSetting, DecoderFactory>> = {
  sequential: (engine) => new SequentialDecoder(engine),
  parallel: (engine, options) => new ParallelDecoder(engine, { block: options.block, history: options.history }),
  confidence: (engine, options) => confidenceDecoder(engine, { block: options.block, history: options.history, threshold: options.threshold }),
  'block-diffusion': (engine, options) => new BlockDiffusionDecoder(engine, { block: options.block, threshold: options.threshold, ...options.diffusion }),
  auto: async (engine, options) => {
    const choice = await chooseDecoder(engine, { cacheDir: options.cacheDir ?? defaultCacheDir(), block: options.block, log: options.log });
    return choice.choice === 'parallel' ? new ParallelDecoder(engine, { block: options.block, history: options.history }) : new SequentialDecoder(engine);
  },
};

export async function makeDecoder(engine: Engine, setting: DecoderSetting, options: MakeDecoderOptions = {}): Promise<Decoder> {
  const make = registryEntry(decoderFactories, setting);
  if (!make) throw new RangeError(`unknown decoder "${String(setting)}"; choose one of ${DECODERS.join(', ')}`);
  return make(engine, options);
}
