// The sequential baseline: Engine.generate itself (one token per forward pass), behind the Decoder interface.

import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { prefillPasses, type DecodeOptions, type DecodeResult, type Decoder } from '../engine/decoder';

export class SequentialDecoder implements Decoder {
  readonly name = 'sequential' as const;

  constructor(readonly engine: Engine) {}

  async generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
    const result = await this.engine.generate(cache, prompt, options);
    return { ...result, decodePasses: result.forwardPasses - prefillPasses(prompt.length), draftsProposed: 0, draftsAccepted: 0 };
  }
}
