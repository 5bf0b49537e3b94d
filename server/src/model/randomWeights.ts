// Deterministic random weights at realistic scales, for tests and random-weight benchmarks at real model shapes.
// Linear/embedding weights ~ N(0, 0.02²), biases ~ N(0, 0.02²), norm weights ~ 1 ± 0.1 (so the norm multiply is
// not a no-op that would hide a missing weight).

import type { Architecture, ModelConfig, Weights } from './config';
import { expectedWeightShapes } from './weightShapes';
import { seededRandom } from '../util/random';

export { seededRandom };

/** Standard normal samples via Box–Muller (exact normals for tests; randomWeights uses a faster fill). */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const u = Math.max(uniform(), 1e-12);
    const v = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

export interface RandomWeightOptions {
  /** Standard deviation of linear/embedding weights (default 0.02). */
  std?: number;
}

/**
 * Fills `data` with approximately normal values (mean, std): Irwin–Hall over four 16-bit uniforms taken from two
 * inlined mulberry32 steps, ~10x faster than Box–Muller, which matters at real model sizes (0.5B values).
 * Bounded at ±3.46 std, which is fine for weights. Returns the advanced PRNG state.
 */
function fillNormal(data: Float32Array, state: number, mean: number, std: number): number {
  // Sum of four U(0,1) has mean 2 and variance 1/3.
  const scale = (std * Math.sqrt(3)) / 65536;
  const offset = mean - 2 * std * Math.sqrt(3);
  for (let i = 0; i < data.length; i++) {
    let sum = 0;
    for (let k = 0; k < 2; k++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t = t ^ (t >>> 14);
      sum += (t >>> 16) + (t & 0xffff);
    }
    data[i] = offset + sum * scale;
  }
  return state;
}

/** Every tensor expectedWeightShapes lists (lm_head omitted when tied), filled from one seeded stream. */
export function randomWeights(config: ModelConfig, seed: number, options: RandomWeightOptions = {}): Weights {
  const std = options.std ?? 0.02;
  let state = seed | 0;
  const weights: Weights = new Map();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = /(layernorm|_norm|\.norm)\.weight$/.test(name);
    state = fillNormal(data, state, isNorm ? 1 : 0, isNorm ? 0.1 : std);
    weights.set(name, { shape, data });
  }
  return weights;
}

/**
 * The same values as randomWeights, but each tensor is generated when its `data` is read and not kept: a graph
 * build then holds one fp32 tensor at a time instead of the whole model (0.5B params = 2 GB). Reading `data`
 * twice generates twice. The stream's state before a tensor is seed + 2·(values before it)·step (mulberry32
 * advances by a constant), so any tensor can be generated on its own.
 */
export function lazyRandomWeights(config: ModelConfig, seed: number, options: RandomWeightOptions = {}): Weights {
  const std = options.std ?? 0.02;
  const weights: Weights = new Map();
  let before = 0;
  for (const [name, shape] of expectedWeightShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const isNorm = /(layernorm|_norm|\.norm)\.weight$/.test(name);
    const state = (seed + Math.imul((2 * before) % 2 ** 32, 0x6d2b79f5)) | 0;
    weights.set(name, {
      shape,
      get data(): Float32Array {
        const data = new Float32Array(count);
        fillNormal(data, state, isNorm ? 1 : 0, isNorm ? 0.1 : std);
        return data;
      },
    });
    before += count;
  }
  return weights;
}

/** Small shapes per architecture, each exercising its distinctive step; override any field. */
export function tinyConfig(architecture: Architecture, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base: ModelConfig = {
    architecture,
    sourceArchitecture: { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' }[architecture],
    vocabSize: 96,
    hiddenSize: 64,
    intermediateSize: 128,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    maxPositions: 256,
    tieWordEmbeddings: architecture !== 'llama',
    qkvBias: architecture === 'qwen2',
    qkNorm: architecture === 'qwen3',
    eosTokenIds: [2],
    bosTokenId: 1,
  };
  // Qwen3's head_dim is explicit and need not be hidden / heads.
  if (architecture === 'qwen3') base.headDim = 32;
  return { ...base, ...overrides };
}
