// Policy names → constructors (one table; the CLI, benchmarks and the server all pick from it).
import type { Engine } from '../../engine/engine';
import type { CachePolicy, PolicyName } from './policy';
import { POLICY_NAMES } from './policy';
import { DEFAULT_CATALYST, infinipotPolicy, type InfiniPotOptions } from './infinipot';
import { streamingPolicy } from './streaming';
import { h2oPolicy } from './h2o';
import { tovaPolicy } from './tova';
import { randomPolicy } from './random';
import { snapkvPolicy } from './snapkv';
import { fullPolicy } from './full';

export interface PolicyTuning {
  infinipot?: Partial<Omit<InfiniPotOptions, 'catalystTokens'>>;
  seed?: number;
}

export function makePolicy(name: PolicyName, engine: Engine, catalyst = DEFAULT_CATALYST, tuning: PolicyTuning = {}): CachePolicy {
  switch (name) {
    case 'infinipot':
      return infinipotPolicy({ catalystTokens: engine.tokenizer.encode(catalyst), ...tuning.infinipot });
    case 'streaming':
      return streamingPolicy();
    case 'h2o':
      return h2oPolicy();
    case 'tova':
      return tovaPolicy();
    case 'random':
      return randomPolicy(tuning.seed);
    case 'snapkv':
      return snapkvPolicy();
    case 'full':
      return fullPolicy();
    default:
      throw new RangeError(`unknown policy "${String(name)}"; choose one of ${POLICY_NAMES.join(', ')}`);
  }
}
