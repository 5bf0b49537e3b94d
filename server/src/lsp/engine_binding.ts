// The only module that knows the engine: loads a model folder into a ModelHost.
import { Engine } from '../engine/engine.js';
import type { Device } from './protocol.js';
import type { GenerateOutcome, GenerateRequest, ModelHost } from './model_host.js';
import * as path from 'node:path';

export interface LoadOptions {
  device: Device;
  /** Where built graphs are cached; empty = the engine's default. */
  cacheDir: string;
  log: (message: string) => void;
}

export async function loadModelHost(modelDir: string, opts: LoadOptions): Promise<ModelHost> {
  const engine = await Engine.load(modelDir, {
    device: opts.device,
    cacheDir: opts.cacheDir ? path.join(opts.cacheDir, 'graphs') : undefined,
    log: opts.log,
  });
  return new EngineHost(engine, path.basename(modelDir));
}

class EngineHost implements ModelHost {
  constructor(
    private readonly engine: Engine,
    readonly label: string,
  ) {}

  get device(): string {
    return this.engine.device;
  }

  get maxPositions(): number {
    return this.engine.config.maxPositions;
  }

  get bytesPerToken(): number {
    const c = this.engine.config;
    return c.numLayers * 2 * c.numKvHeads * c.headDim * 4;
  }

  get tokenizer(): ModelHost['tokenizer'] {
    return this.engine.tokenizer;
  }

  async generate(req: GenerateRequest): Promise<GenerateOutcome> {
    const cache = this.engine.newCache(req.context.length + req.prompt.length + req.maxTokens);
    if (req.context.length > 0) await this.engine.prefill(cache, req.context, { signal: req.signal });
    const out = await this.engine.generate(cache, req.prompt, {
      maxTokens: req.maxTokens,
      sampling: req.greedy ? { kind: 'greedy' } : { kind: 'sample', temperature: 0.7, topP: 0.9 },
      stop: req.stop,
      signal: req.signal,
      onText: req.onToken,
    });
    return { text: out.text, tokens: out.tokens.length, stopReason: out.stopReason };
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}
