// The engine: a loaded model, its ONNX sessions, and forward/prefill/generate over a KvCache we own.
//
//   tokens ──► forward(cache, tokens) ──► graph(input_ids, position_ids, mask, past = cache views)
//                                            │
//                     cache.append(new K/V) ◄┘──► logits (+ attention mass when asked)
//
// Sessions are built lazily per graph variant (logits last/all, attention mass on/off), so plain
// decoding never pays for the outputs that distillation and verification need.

import type { TokenConstraint } from './pathSnap';
import { causalMask, inputNames, MASK_NEG, outputNames, type FusedAttention, type GraphKernels, type GraphOptions, type PastLayout, type WeightFormat } from '../graph/contract';
import { loadOrBuildGraph } from '../graph/graphCache';
import { ropeTableSize } from '../graph/rope';
import { loadModel, type LoadedModel } from '../model/import';
import type { ModelConfig, Weights } from '../model/config';
import { fp32WeightBytes } from '../model/weightShapes';
import type { Tokenizer } from '../model/tokenizer';
import { openSession, type Device, type HostTensor, type RuntimeSession } from '../runtime/ort';
import { DEFAULT_KV_DTYPE, KV_DTYPES, PREFILL_CHUNK_TOKENS, type KvDtype } from '../vocab';
import { throwIfAborted } from '../util/abort';
import { KvCache, type CacheLayout, type CacheShape } from './kvCache';
import { argmax, constrained, logProbOf, Sampler, GREEDY, type Sampling } from './sampling';
import { defaultCacheDir } from './paths';

export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface EngineOptions {
  device?: Device;
  weights?: WeightFormat;
  /** Where built graphs are cached (keyed by weights + options). */
  cacheDir?: string;
  /**
   * Keep the fp32 weights in memory after the decode graph is built. Default: only when they are small
   * (≤ 64 MB), or when they cannot be reloaded; otherwise they are dropped and reloaded for a later variant.
   */
  keepWeights?: boolean;
  /**
   * Graph kernels: 'standard' (plain ONNX ops, any execution provider; the default) or 'fused' (onnxruntime's CPU
   * contrib ops; opt-in, see DEFAULT_KERNELS).
   */
  kernels?: GraphKernels;
  /** onnxruntime intra-op threads (default: physical cores). */
  threads?: number;
  /** Attention in fused graphs (see GraphOptions.attention); default DEFAULT_FUSED_ATTENTION. */
  attention?: FusedAttention;
  /**
   * How this engine's caches store K/V (newCache) and so what its graphs read as past K/V (default DEFAULT_KV_DTYPE):
   * 'fp16' halves the cache's bytes; the graphs cast it to fp32 inside (see graph/builder.ts makePastInputs).
   */
  kvDtype?: KvDtype;
  /**
   * How the standard graph reads the past cache (GraphOptions.pastLayout; default DEFAULT_PAST_LAYOUT): 'headT' keeps
   * caches head-major (KvCache layout 'headT') and reads them in place, without per-step copies; 'auto' picks by the
   * model's size (resolvePastLayout). Ignored by fused kernels.
   */
  pastLayout?: PastLayoutChoice;
  log?: (message: string) => void;
}

/** What the engine needs of a model; `LoadedModel` from model/import satisfies it. */
export interface EngineModel {
  config: ModelConfig;
  /** fp32 weights; emptied after the decode graph is built when the model is large and `reloadWeights` is set. */
  weights: Weights;
  weightsHash: string;
  /** Reads the weights again (from the model's files) when a graph variant must be built after they were dropped. */
  reloadWeights?: () => Promise<Weights>;
  tokenizer?: Tokenizer;
  dir?: string;
  renderChat?: LoadedModel['renderChat'];
}

export interface ForwardOptions<Tag> {
  /** RoPE positions of the new tokens; default continues after the cache's largest position. */
  positions?: readonly number[];
  /**
   * Additive mask, q rows × (cache.length + q) columns (0 = attend, MASK_NEG = blocked).
   * Default: every cache slot visible, causal within the new tokens.
   */
  mask?: Float32Array;
  logits?: 'last' | 'all';
  /** Per-query-row weights; when given, the result carries per-layer attention mass over all columns. */
  attentionRows?: Float32Array;
  tags?: readonly (Tag | undefined)[];
  /** false: run without appending the new K/V (scoring probes such as a catalyst prompt). */
  append?: boolean;
}

export interface ForwardResult {
  /** rows × vocab logits (rows = q for 'all', 1 for 'last'). */
  logits: Float32Array;
  rows: number;
  /** Per layer, cache.length(before) + q floats. */
  attentionMass?: Float32Array[];
  /** K/V of the new tokens (per layer), for callers that append them themselves. */
  newKeys: Float32Array[];
  newValues: Float32Array[];
}

export interface PrefillOptions<Tag> {
  positions?: readonly number[];
  tags?: readonly (Tag | undefined)[];
  chunkSize?: number;
  /** Compute log p(token | everything before it) for every token (needs all-row logits). */
  logProbs?: boolean;
  /** Also return the greedy prediction for every token's position (the copy score's top-1). */
  predictions?: boolean;
  signal?: AbortSignal;
}

export interface PrefillResult {
  /** Logits of the last token (vocab floats). */
  lastLogits: Float32Array;
  /** log p of each token given its prefix; NaN for the first when nothing preceded it. */
  tokenLogProbs?: Float32Array;
  /** argmax of the logits that predicted each token; -1 for the first when nothing preceded it. */
  predicted?: Int32Array;
}

export type StopReason = 'eos' | 'stop' | 'length' | 'cancelled';

export interface GenerateOptions {
  maxTokens: number;
  sampling?: Sampling;
  /** Text that ends generation; it is not included in the output. */
  stop?: readonly string[];
  signal?: AbortSignal;
  /** Streams text as it becomes final (never text that could still turn into a stop sequence). */
  onText?: (text: string) => void;
  onToken?: (id: number) => void;
  /** Restricts the next token given the text so far (engine/pathSnap.ts); undefined from it leaves the step free. */
  constrain?: TokenConstraint;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
  forwardPasses: number;
}

/** REPOPOT_KERNELS=standard|fused overrides the default kernels (A/B measurements through the CLI and server). */
function kernelsFromEnvironment(): GraphKernels | undefined {
  const value = process.env.REPOPOT_KERNELS;
  if (value === undefined || value === '') return undefined;
  if (value !== 'standard' && value !== 'fused') throw new EngineError(`REPOPOT_KERNELS must be 'standard' or 'fused', got '${value}'`);
  return value;
}

/** REPOPOT_ATTENTION=gqa|sdpa overrides the fused graphs' attention (A/B measurements). */
function attentionFromEnvironment(): FusedAttention | undefined {
  const value = process.env.REPOPOT_ATTENTION;
  if (value === undefined || value === '') return undefined;
  if (value !== 'gqa' && value !== 'sdpa') throw new EngineError(`REPOPOT_ATTENTION must be 'gqa' or 'sdpa', got '${value}'`);
  return value;
}

/** EngineOptions.pastLayout: one of the graph's past layouts, or 'auto' (by the model's size). */
export type PastLayoutChoice = PastLayout | 'auto';
const PAST_LAYOUT_CHOICES: readonly PastLayoutChoice[] = ['token', 'headT', 'auto'];

/** REPOPOT_PAST_LAYOUT=token|headT|auto overrides the standard graph's past layout (A/B measurements). */
function pastLayoutFromEnvironment(): PastLayoutChoice | undefined {
  const value = process.env.REPOPOT_PAST_LAYOUT;
  if (value === undefined || value === '') return undefined;
  const choice = PAST_LAYOUT_CHOICES.find((c) => c === value);
  if (!choice) throw new EngineError(`REPOPOT_PAST_LAYOUT must be ${PAST_LAYOUT_CHOICES.join(', ')}, got '${value}'`);
  return choice;
}

/**
 * Measured side by side on onnxruntime-node 1.30's CPU EP (docs/benchmarks.md, engine section), the fused graph
 * (391 nodes at the Qwen2.5-0.5B shape instead of 1,271) decodes 10% slower than the standard one, whose patterns
 * onnxruntime fuses itself at load (RMSNorm into SimplifiedLayerNormalization, SiLU into QuickGelu, ...); with
 * GroupQueryAttention it is slower still (1.6x per step at a 4k cache). So the standard graph stays the default.
 */
export const DEFAULT_KERNELS: GraphKernels = 'standard';

/**
 * Fused graphs' attention by default: the plain-op attention. GroupQueryAttention reads a head-major cache in place
 * (no Concat/Transpose), but onnxruntime 1.30's CPU kernel copies the past rows into its present output once per
 * query head and measured slower per step; binding present to the cache buffer does not help from Node, which copies
 * every fetched output back into a fresh buffer.
 */
export const DEFAULT_FUSED_ATTENTION: FusedAttention = 'sdpa';

/**
 * The standard graph's past layout by default (docs/benchmarks.md, engine section). Read in place, a head-major past
 * decodes 1.15-1.4x faster at the Qwen2.5-0.5B shape (1k/4k caches) and 1.3-1.7x at SmolLM2-135M, but its extra
 * copies (the joined score and split probability tensors) grow with tokens x capacity, where the token-major graph's
 * (Concat + Transpose of the cache) grow with capacity alone: a 256-token chunk onto a cache costs 4-23% more CPU.
 * On RepoPot's own model (18 MB) decode is cheap and chunks dominate: streaming a repository into a pot took 16% longer
 * and hover p50 rose from 108-131 to 144-175 ms head-major. Reading head-major only for short forwards needs a second
 * onnxruntime session, i.e. a second copy of the weights (peak RSS 1.73x llama.cpp's at the 0.5B shape). So 'auto'
 * picks one layout per model, by its size.
 */
export const DEFAULT_PAST_LAYOUT: PastLayoutChoice = 'auto';

/** 'auto' reads head-major above this many fp32 weight bytes (decode-bound models), token-major below. */
export const AUTO_HEAD_MAJOR_MIN_BYTES = 64 * 1024 * 1024;

/** The layout an engine runs with: 'auto' becomes 'headT' for large models and 'token' for small ones. */
export function resolvePastLayout(choice: PastLayoutChoice, config: ModelConfig): PastLayout {
  if (choice !== 'auto') return choice;
  return fp32WeightBytes(config) > AUTO_HEAD_MAJOR_MIN_BYTES ? 'headT' : 'token';
}

/** fp32 weights up to this size stay resident (reference checks and tiny models need them; they cost little). */
const KEEP_WEIGHTS_MAX_BYTES = 64 * 1024 * 1024;

export class Engine {
  private readonly sessions = new Map<string, Promise<RuntimeSession>>();
  private decodeGraphNodes: number | undefined;
  private resolvedDevice: RuntimeSession['device'] | undefined;

  private constructor(
    readonly model: EngineModel,
    private readonly options: Required<Pick<EngineOptions, 'device' | 'weights' | 'cacheDir' | 'kernels' | 'attention' | 'kvDtype'>> & { pastLayout: PastLayout } & Pick<EngineOptions, 'log' | 'keepWeights' | 'threads'>,
  ) {}

  private weightsDropped = false;

  /** After the decode graph exists, a large model's fp32 weights are only needed to build another variant. */
  private dropWeightsIfLarge(): void {
    if (!this.model.reloadWeights || this.options.keepWeights === true) return;
    const bytes = fp32WeightBytes(this.model.config);
    if (this.options.keepWeights === undefined && bytes <= KEEP_WEIGHTS_MAX_BYTES) return;
    this.model.weights = new Map();
    this.weightsDropped = true;
    this.options.log?.(`dropped ${(bytes / 1e6).toFixed(0)} MB of fp32 weights (graphs are built; reloaded from the files if another variant is needed)`);
  }

  private async weightsForBuild(): Promise<Weights> {
    if (!this.weightsDropped) return this.model.weights;
    this.options.log?.('reloading fp32 weights to build another graph variant');
    return this.model.reloadWeights!();
  }

  /** Loads a model folder (Hugging Face or llama2.c) and prepares its decode session. */
  static async load(modelDir: string, options: EngineOptions = {}): Promise<Engine> {
    const model: EngineModel = await loadModel(modelDir);
    model.reloadWeights = async () => (await loadModel(modelDir)).weights;
    return Engine.fromModel(model, options);
  }

  /** Wraps already-loaded weights (random-weight benchmarks, tests). */
  static async fromModel(model: EngineModel, options: EngineOptions = {}): Promise<Engine> {
    const device = options.device ?? 'cpu';
    const kvDtype = options.kvDtype ?? DEFAULT_KV_DTYPE;
    if (!(KV_DTYPES as readonly string[]).includes(kvDtype)) throw new EngineError(`kvDtype must be one of ${KV_DTYPES.join(', ')}, got '${String(kvDtype)}'`);
    const engine = new Engine({ ...model }, {
      device,
      keepWeights: options.keepWeights,
      threads: options.threads,
      kernels: options.kernels ?? kernelsFromEnvironment() ?? DEFAULT_KERNELS,
      attention: options.attention ?? attentionFromEnvironment() ?? DEFAULT_FUSED_ATTENTION,
      weights: options.weights ?? 'fp32',
      kvDtype,
      pastLayout: resolvePastLayout(options.pastLayout ?? pastLayoutFromEnvironment() ?? DEFAULT_PAST_LAYOUT, model.config),
      cacheDir: options.cacheDir ?? defaultCacheDir(),
      log: options.log,
    });
    await engine.session({ logits: 'last', attentionMass: false, kernels: engine.options.kernels, attention: engine.options.attention, pastLayout: engine.options.pastLayout });
    engine.dropWeightsIfLarge();
    return engine;
  }

  get config(): ModelConfig {
    return this.model.config;
  }

  get tokenizer(): Tokenizer {
    if (!this.model.tokenizer) throw new EngineError('this model was loaded without a tokenizer');
    return this.model.tokenizer;
  }

  /** The execution provider actually in use (after any `auto` fallback). */
  get device(): RuntimeSession['device'] {
    return this.resolvedDevice ?? 'cpu';
  }

  get weightFormat(): WeightFormat {
    return this.options.weights;
  }

  get kernels(): GraphKernels {
    return this.options.kernels;
  }

  /** How this engine's caches store K/V, which is what its graphs read (EngineOptions.kvDtype). */
  get kvDtype(): KvDtype {
    return this.options.kvDtype;
  }

  /** ONNX nodes of the decode graph (logits 'last', no attention mass), as emitted before onnxruntime's fusions. */
  get graphNodes(): number | undefined {
    return this.decodeGraphNodes;
  }

  /** The shape of this model's KV cache (what newCache allocates, without allocating). */
  get cacheShape(): CacheShape {
    const c = this.model.config;
    return { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, ropeTheta: c.ropeTheta };
  }

  newCache<Tag = unknown>(initialCapacity = 256): KvCache<Tag> {
    return new KvCache<Tag>(this.cacheShape, initialCapacity, {
      layout: this.cacheLayout,
      kvDtype: this.options.kvDtype,
    });
  }

  /**
   * How new caches store K/V: head-major for GroupQueryAttention (REPOPOT_ATTENTION=gqa with fused kernels), head-major
   * with K transposed for the standard graph's 'headT' past layout, else token-major.
   */
  get cacheLayout(): CacheLayout {
    if (this.usesGqa) return 'head';
    return this.usesHeadT ? 'headT' : 'token';
  }

  /** Standard kernels reading the past cache in place ('headT'); fused kernels have their own layouts. */
  private get usesHeadT(): boolean {
    return this.options.kernels === 'standard' && this.options.pastLayout === 'headT';
  }

  /**
   * Whether this step can run on the fused graph: GroupQueryAttention is causal among the new tokens (a mask may
   * only block more) and RoPE positions must lie inside its cos/sin tables. Anything else takes the standard graph.
   */
  private get usesGqa(): boolean {
    return this.options.kernels === 'fused' && this.options.attention === 'gqa';
  }

  private fusedFits(past: number, q: number, positions: readonly number[], mask: Float32Array | undefined): boolean {
    if (this.options.kernels !== 'fused') return false;
    const table = ropeTableSize(this.model.config.maxPositions);
    for (const p of positions) if (!(p >= 0 && p < table)) return false;
    if (mask && this.usesGqa) {
      const total = past + q;
      for (let r = 0; r < q; r++) for (let col = past + r + 1; col < total; col++) if (mask[r * total + col] > MASK_NEG / 2) return false;
    }
    return true;
  }

  /** One graph run over `tokens` on top of `cache`; appends their K/V unless `append: false`. */
  async forward<Tag>(cache: KvCache<Tag>, tokens: readonly number[], options: ForwardOptions<Tag> = {}): Promise<ForwardResult> {
    const c = this.model.config;
    const q = tokens.length;
    if (q === 0) throw new EngineError('forward: no tokens');
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) throw new EngineError(`forward: token id ${t} is outside the vocabulary 0..${c.vocabSize - 1}`);
    }
    if (cache.kvDtype !== this.options.kvDtype) {
      // The graphs' past inputs have one dtype; converting here would silently round (or widen) the caller's cache.
      throw new EngineError(`forward: the cache stores ${cache.kvDtype} K/V but this engine's graphs read ${this.options.kvDtype} (kvDtype): make caches with engine.newCache(), restore them with { kvDtype: engine.kvDtype }, or convert with cache.setKvDtype()`);
    }
    const past = cache.length;
    const start = cache.nextPosition();
    const positions = options.positions ?? tokens.map((_, i) => start + i);
    if (positions.length !== q) throw new EngineError(`forward: ${positions.length} positions for ${q} tokens`);
    const total = past + q;
    let mask = options.mask;
    if (mask && mask.length !== q * total) throw new EngineError(`forward: mask has ${mask.length} entries, expected ${q}×${total}`);
    const kernels: GraphKernels = this.fusedFits(past, q, positions, mask) ? 'fused' : 'standard';
    mask ??= causalMask(past, q);
    const logits = options.logits ?? 'last';
    const withMass = options.attentionRows !== undefined;
    if (withMass && options.attentionRows!.length !== q) throw new EngineError(`forward: attentionRows has ${options.attentionRows!.length} entries for ${q} tokens`);
    // A cache that cannot be head-major (the Fourier tier) takes the token-major standard graph.
    const pastLayout: PastLayout = this.usesHeadT && cache.acceptsLayout('headT') ? 'headT' : 'token';
    const session = await this.session({ logits, attentionMass: withMass, kernels, attention: this.options.attention, pastLayout });
    await cache.prepare();
    const gqa = kernels === 'fused' && this.options.attention === 'gqa';
    const headT = kernels === 'standard' && pastLayout === 'headT';
    if (headT) cache.setLayout('headT');
    // A head-major cache handed to a token-major engine: one conversion, so later forwards feed it without copies.
    else if (kernels === 'standard' && cache.layout === 'headT') cache.setLayout('token');
    // An empty cache feeds no rows at all, so a prefill from scratch computes over no padding.
    const capacity = past === 0 ? 0 : cache.capacity;

    const feeds: Record<string, HostTensor> = {
      [inputNames.inputIds]: { dims: [1, q], data: BigInt64Array.from(tokens, (t) => BigInt(t)) },
      [inputNames.positionIds]: { dims: [1, q], data: BigInt64Array.from(positions, (p) => BigInt(p)) },
      [inputNames.attentionMask]: { dims: [1, 1, q, total], data: mask },
    };
    if (gqa) {
      // The head-major buffers go in whole; seqlens_k tells GroupQueryAttention how many rows are live.
      cache.setLayout('head');
      feeds[inputNames.seqlensK] = { dims: [1], data: Int32Array.of(total - 1) };
      feeds[inputNames.totalSequenceLength] = { dims: [], data: Int32Array.of(total) };
      const dims = [1, c.numKvHeads, cache.capacity, c.headDim];
      for (let l = 0; l < c.numLayers; l++) {
        feeds[inputNames.pastKey(l)] = { dims, data: cache.keyBuffer(l) };
        feeds[inputNames.pastValue(l)] = { dims, data: cache.valueBuffer(l) };
      }
    } else if (headT) {
      // The storage goes in whole (zero-copy); the mask blocks the capacity rows past the live ones.
      feeds[inputNames.attentionMask] = { dims: [1, 1, q, capacity + q], data: capacityMask(mask, past, q, capacity) };
      for (let l = 0; l < c.numLayers; l++) {
        feeds[inputNames.pastKey(l)] = { dims: [1, c.numKvHeads, c.headDim, capacity], data: capacity ? cache.keyBuffer(l) : cache.keyBuffer(l).subarray(0, 0) };
        feeds[inputNames.pastValue(l)] = { dims: [1, c.numKvHeads, capacity, c.headDim], data: capacity ? cache.valueBuffer(l) : cache.valueBuffer(l).subarray(0, 0) };
      }
    } else {
      for (let l = 0; l < c.numLayers; l++) {
        feeds[inputNames.pastKey(l)] = { dims: [1, past, c.numKvHeads, c.headDim], data: cache.keyFeed(l) };
        feeds[inputNames.pastValue(l)] = { dims: [1, past, c.numKvHeads, c.headDim], data: cache.valueFeed(l) };
      }
    }
    if (withMass) feeds[inputNames.attentionRows] = { dims: [q], data: options.attentionRows! };

    const out = await session.run(feeds);
    const newKeys: Float32Array[] = [];
    const newValues: Float32Array[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      newKeys.push(floatOutput(out, outputNames.newKey(l)));
      newValues.push(floatOutput(out, outputNames.newValue(l)));
    }
    const logitsData = floatOutput(out, outputNames.logits);
    const result: ForwardResult = { logits: logitsData, rows: logitsData.length / c.vocabSize, newKeys, newValues };
    if (withMass) {
      result.attentionMass = Array.from({ length: c.numLayers }, (_, l) => {
        const mass = floatOutput(out, outputNames.attentionMass(l));
        return headT ? liveColumns(mass, past, q, capacity) : mass;
      });
    }
    if (options.append !== false) {
      cache.append(newKeys, newValues, positions, options.tags);
      cache.lastLogits = logitsData.slice(logitsData.length - c.vocabSize);
    }
    return result;
  }

  /** Appends `tokens` in chunks; optionally returns each token's log-probability (NuC scores). */
  async prefill<Tag>(cache: KvCache<Tag>, tokens: readonly number[], options: PrefillOptions<Tag> = {}): Promise<PrefillResult> {
    if (tokens.length === 0) throw new EngineError('prefill: no tokens');
    const chunkSize = options.chunkSize ?? PREFILL_CHUNK_TOKENS;
    const vocab = this.model.config.vocabSize;
    const start = cache.nextPosition();
    const positions = options.positions ?? tokens.map((_, i) => start + i);
    const logProbs = options.logProbs || options.predictions ? new Float32Array(tokens.length).fill(NaN) : undefined;
    const predicted = options.predictions ? new Int32Array(tokens.length).fill(-1) : undefined;
    let previous = cache.lastLogits;
    for (let from = 0; from < tokens.length; from += chunkSize) {
      throwIfAborted(options.signal);
      const to = Math.min(tokens.length, from + chunkSize);
      const chunk = tokens.slice(from, to);
      const r = await this.forward(cache, chunk, {
        positions: positions.slice(from, to),
        tags: options.tags?.slice(from, to),
        logits: logProbs ? 'all' : 'last',
      });
      if (logProbs) {
        if (previous) logProbs[from] = logProbOf(previous, 0, vocab, chunk[0]);
        for (let i = 1; i < chunk.length; i++) logProbs[from + i] = logProbOf(r.logits, (i - 1) * vocab, vocab, chunk[i]);
        if (predicted) {
          if (previous) predicted[from] = argmax(previous, 0, vocab);
          for (let i = 1; i < chunk.length; i++) predicted[from + i] = argmax(r.logits, (i - 1) * vocab, vocab);
        }
      }
      previous = cache.lastLogits;
    }
    return { lastLogits: cache.lastLogits!, tokenLogProbs: options.logProbs ? logProbs : undefined, predicted };
  }

  /**
   * Prefills `prompt` (may be empty if the cache already ends with logits) and decodes one token per
   * forward pass. On return the cache holds the prompt and every generated token except the last one
   * sampled (it was never fed back).
   */
  async generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
    const sampler = new Sampler(options.sampling ?? GREEDY);
    const vocab = this.model.config.vocabSize;
    const eos = new Set(this.model.config.eosTokenIds);
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    let forwardPasses = 0;
    if (prompt.length > 0) {
      await this.prefill(cache, prompt, { signal: options.signal });
      forwardPasses += Math.ceil(prompt.length / PREFILL_CHUNK_TOKENS);
    }
    if (!cache.lastLogits) throw new EngineError('generate: empty prompt and the cache holds no logits to continue from');
    const stream = new TextStream(this.tokenizer, stops, options.onText);
    const tokens: number[] = [];
    let logits = cache.lastLogits;
    let stopReason: StopReason = 'length';
    while (tokens.length < options.maxTokens) {
      if (options.signal?.aborted) {
        stopReason = 'cancelled';
        break;
      }
      const next = sampler.next(constrained(logits, 0, vocab, options.constrain?.(this.tokenizer.decode(tokens))), 0, vocab);
      if (eos.has(next)) {
        stopReason = 'eos';
        break;
      }
      tokens.push(next);
      options.onToken?.(next);
      if (stream.push(next)) {
        stopReason = 'stop';
        break;
      }
      if (tokens.length >= options.maxTokens) break;
      const r = await this.forward(cache, [next], { logits: 'last' });
      forwardPasses++;
      logits = r.logits;
    }
    return { text: stream.finish(stopReason === 'stop'), tokens, stopReason, forwardPasses };
  }

  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s).dispose()));
  }

  private session(variant: Pick<GraphOptions, 'logits' | 'attentionMass' | 'kernels' | 'attention' | 'pastLayout'>): Promise<RuntimeSession> {
    const fused = variant.kernels === 'fused';
    const key = `${variant.logits}/${variant.attentionMass}/${variant.kernels}/${fused ? variant.attention : variant.pastLayout}`;
    let pending = this.sessions.get(key);
    if (!pending) {
      pending = this.openVariant({ ...variant, pastLayout: fused ? undefined : variant.pastLayout, weights: this.options.weights, kvDtype: this.options.kvDtype });
      this.sessions.set(key, pending);
      pending.catch(() => this.sessions.delete(key));
    }
    return pending;
  }

  private async openVariant(graphOptions: GraphOptions): Promise<RuntimeSession> {
    const { modelPath, built, buildMs, nodeCount } = await loadOrBuildGraph({
      cacheDir: this.options.cacheDir,
      config: this.model.config,
      weights: () => this.weightsForBuild(),
      weightsHash: this.model.weightsHash,
      options: graphOptions,
    });
    if (built) this.options.log?.(`built ${graphOptions.weights} graph (logits ${graphOptions.logits}${graphOptions.attentionMass ? ', attention mass' : ''}, ${graphOptions.kernels} kernels${graphOptions.pastLayout === 'headT' ? ', head-major past' : ''}${graphOptions.kvDtype === 'fp16' ? ', fp16 KV' : ''}, ${nodeCount} nodes) in ${buildMs.toFixed(0)} ms`);
    if (graphOptions.logits === 'last' && !graphOptions.attentionMass && graphOptions.kernels === this.options.kernels) this.decodeGraphNodes = nodeCount;
    const session = await openSession(modelPath, { device: this.options.device, log: this.options.log, threads: this.options.threads });
    this.resolvedDevice = session.device;
    return session;
  }
}

/** The [q, past+q] mask widened to the 'headT' graph's [q, capacity+q] columns: unused capacity rows blocked. */
function capacityMask(mask: Float32Array, past: number, q: number, capacity: number): Float32Array {
  const total = past + q;
  const width = capacity + q;
  const out = new Float32Array(q * width);
  for (let r = 0; r < q; r++) {
    out.set(mask.subarray(r * total, r * total + past), r * width);
    out.fill(MASK_NEG, r * width + past, r * width + capacity);
    out.set(mask.subarray(r * total + past, (r + 1) * total), r * width + capacity);
  }
  return out;
}

/** A 'headT' graph's attention mass over [capacity+q] columns → the contract's [past+q] (live slots, then new tokens). */
function liveColumns(mass: Float32Array, past: number, q: number, capacity: number): Float32Array {
  const out = new Float32Array(past + q);
  out.set(mass.subarray(0, past));
  out.set(mass.subarray(capacity, capacity + q), past);
  return out;
}

function floatOutput(out: Record<string, HostTensor>, name: string): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) throw new EngineError(`graph output ${name} is missing or not float32`);
  return t.data;
}

/**
 * Incremental detokenization with stop sequences: decodes the whole output each step (byte-level
 * tokens may complete a character only later) and releases only text that can no longer become
 * part of a stop sequence.
 */
export class TextStream {
  private readonly ids: number[] = [];
  private emitted = 0;
  private text = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stops: readonly string[],
    private readonly onText?: (text: string) => void,
  ) {}

  /** Returns true when a stop sequence has appeared. */
  push(id: number): boolean {
    this.ids.push(id);
    // Special tokens stay in the text so stop sequences can name them (<|end|>, <|im_end|>).
    this.text = this.tokenizer.decode(this.ids, { skipSpecial: false });
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop);
      if (at >= 0) {
        this.text = this.text.slice(0, at);
        return true;
      }
    }
    this.release(this.safeLength());
    return false;
  }

  finish(stopped: boolean): string {
    // An unfinished multi-byte character decodes to U+FFFD; drop it at the very end only if it trails.
    if (!stopped) this.text = this.text.replace(/\uFFFD$/, '');
    this.release(this.text.length);
    return this.text;
  }

  private safeLength(): number {
    let safe = this.text.length;
    if (this.text.endsWith('\uFFFD')) safe -= 1;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, this.text.length); k > 0; k--) {
        if (this.text.endsWith(stop.slice(0, k))) {
          safe = Math.min(safe, this.text.length - k);
          break;
        }
      }
    }
    return safe;
  }

  private release(upTo: number): void {
    if (upTo > this.emitted) {
      this.onText?.(this.text.slice(this.emitted, upTo));
      this.emitted = upTo;
    }
  }
}
