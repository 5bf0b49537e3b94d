// Our engine as a benchmark target: random weights at the config's shapes, graph built into a fresh cache folder
// (so its build time is measured), one KvCache, greedy next token from last-row logits.

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { DEFAULT_PAST_LAYOUT, Engine } from '../engine/engine';
import { kvBytesPerValue, type KvCache, type KvDtype } from '../engine/kvCache';
import { argmax } from '../engine/sampling';
import { lazyRandomWeights } from '../model/randomWeights';
import { expectedWeightShapes } from '../model/weightShapes';
import type { ModelConfig } from '../model/config';
import type { WeightFormat } from '../graph/contract';
import { repopotKvDtype, repopotMatrixBytes, repopotPastLayout, type BenchTarget, type PeerName, type TargetInit, type TargetLoadInfo } from './benchTarget';

/** Bytes our graph reads per decode step for `format`: every matrix once (tied lm_head = the embedding table). */
export function repopotWeightBytesPerToken(config: ModelConfig, format: WeightFormat): number {
  let bytes = 0;
  for (const [name, shape] of expectedWeightShapes(config)) {
    if (name === 'model.embed_tokens.weight') {
      // The lookup reads one row; a tied lm_head reads the whole table in the graph's format.
      if (config.tieWordEmbeddings) bytes += repopotMatrixBytes(shape[0], shape[1], format);
      continue;
    }
    bytes += shape.length === 2 ? repopotMatrixBytes(shape[0], shape[1], format) : shape[0] * 4;
  }
  return bytes;
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export class RepopotTarget implements BenchTarget {
  readonly peer: PeerName;
  private readonly kvDtype: KvDtype;
  private engine: Engine | undefined;
  private cache: KvCache | undefined;

  constructor(private readonly init: TargetInit) {
    this.peer = init.peer;
    this.kvDtype = repopotKvDtype(init.peer);
  }

  async load(): Promise<TargetLoadInfo> {
    const { config, quant, seed, cacheDir } = this.init;
    const started = performance.now();
    // Generated tensor by tensor as the graph builder reads them (the same values as randomWeights): the fp32
    // model never exists as a whole, as a checkpoint read tensor by tensor would not.
    const weights = lazyRandomWeights(config, seed);
    const weightsMs = performance.now() - started;
    let graphBuildMs: number | undefined;
    const notes: string[] = [];
    const engineStart = performance.now();
    this.engine = await Engine.fromModel(
      { config, weights, weightsHash: `random-seed-${seed}` },
      {
        device: 'cpu',
        weights: quant,
        kvDtype: this.kvDtype,
        pastLayout: repopotPastLayout(this.init.peer) ?? DEFAULT_PAST_LAYOUT,
        cacheDir,
        log: (message) => {
          const built = /built .* in (\d+) ms/.exec(message);
          if (built) graphBuildMs = Number(built[1]);
        },
      },
    );
    const engineMs = performance.now() - engineStart;
    notes.push(`random weights generated lazily, during the graph build (setup ${weightsMs.toFixed(0)} ms); kernels ${this.engine.kernels}`);
    if (this.kvDtype === 'fp16') notes.push('fp16 KV cache: past K/V fed as fp16 and cast to fp32 in the graph; new rows rounded on append');
    if (quant === 'fp16') notes.push('fp16: onnxruntime CPU folds Cast(fp16 weight) into fp32 constants, so decode reads 4 bytes/weight');
    this.cache = this.engine.newCache(this.init.contextSize);
    const c = config;
    return {
      loadMs: engineMs,
      graphBuildMs,
      graphNodes: this.engine.graphNodes,
      weightBytesPerToken: repopotWeightBytesPerToken(config, quant),
      kvBytesPerPosition: c.numLayers * 2 * c.numKvHeads * c.headDim * kvBytesPerValue(this.kvDtype),
      versions: { node: process.version, 'onnxruntime-node': packageVersion('onnxruntime-node') },
      notes,
    };
  }

  get contextLength(): number {
    return this.cache?.length ?? 0;
  }

  async reset(): Promise<void> {
    this.cache = this.requireEngine().newCache(this.init.contextSize);
  }

  async evaluate(tokens: readonly number[]): Promise<number> {
    const engine = this.requireEngine();
    if (!this.cache) throw new Error('RepopotTarget: not loaded');
    const result = await engine.forward(this.cache, tokens, { logits: 'last' });
    return argmax(result.logits, result.logits.length - engine.config.vocabSize, engine.config.vocabSize);
  }

  async dispose(): Promise<void> {
    await this.engine?.dispose();
    this.engine = undefined;
    this.cache = undefined;
  }

  private requireEngine(): Engine {
    if (!this.engine) throw new Error('RepopotTarget: not loaded');
    return this.engine;
  }
}
