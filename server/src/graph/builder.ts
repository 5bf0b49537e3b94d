// Builds the decoder ONNX graph for a ModelConfig + Weights, following the contract in contract.ts.
// One pipeline of make* steps (as onnxruntime-genai's builder); an architecture overrides one small step:
//
//   input_ids ─embedding─[layer 0 … n-1]─final norm─lm_head→ logits       hidden state: [q, hidden] (batch 1)
//   each layer:  x ─input_layernorm─attention─(+x)─┬─post_attention_layernorm─SwiGLU MLP─(+)→
//                                                  └────────────────────────────────────────┘
//   attention:   q/k/v proj (+bias: Qwen2) ─(q/k per-head RMSNorm: Qwen3)─RoPE─SDPA over past‖new─o_proj
//                (pastLayout 'headT': SDPA over a head-major cache read in place, headMajorAttention.ts)
//
// Steps live in their own files: linear.ts (weight formats), norm.ts, rope.ts, attention.ts.
//
// kernels: 'fused' emits the same model with onnxruntime's contrib ops (CPU EP), ~16 nodes per layer instead of ~50
// (attention 'gqa'; 'sdpa' keeps the plain-op attention of attention.ts). Opt-in: measured no faster (engine.ts).
//   each layer:  (residual, delta) ─SkipSimplifiedLayerNorm─┬─qkv_proj (one matmul)─Reshape─Split─(q/k norm)
//                                                          │   ─RotaryEmbedding(q), RotaryEmbedding(k)─GroupQueryAttention─Reshape─o_proj
//                                                          └─(+)─SkipSimplifiedLayerNorm─gate_up_proj (one matmul)─Split─SiLU·up─down_proj
//   the residual add rides in the next SkipSimplifiedLayerNorm; the cache is head-major (groupQueryAttention.ts).

import { layerPrefix, type Architecture, type ModelConfig, type WeightTensor, type Weights } from '../model/config.js';
import { inputNames, outputNames, type GraphOptions } from './contract.js';
import { makeAttentionCore, makeSharedAttentionInputs, type SharedAttentionInputs } from './attention.js';
import { makeGroupQueryAttention, makeMassRows } from './groupQueryAttention.js';
import { makeCapacityBound, makeHeadMajorAttention } from './headMajorAttention.js';
import { makeEmbeddingLookup, makeEmbeddingTable, makeLinear, makeStackedLinear, makeTiedLmHead, type EmbeddingTable } from './linear.js';
import { makeFusedRmsNorm, makeRmsNorm, makeSkipRmsNorm } from './norm.js';
import { OnnxGraph, type SerializedModel } from './onnxProto.js';
import { registryEntry, registryNames } from '../util/registry.js';
import { applyRope, applyRotaryEmbedding, makeRopeTables, makeRotaryCache, ropeTableSize, type RotaryCache, type RopeTables } from './rope.js';

/** Bump when the emitted graph changes for the same inputs: it is part of the graph cache key. */
export const GRAPH_BUILDER_VERSION = 2;

/** Initializers at least this large go to model.onnx.data when external data is on. */
const EXTERNAL_THRESHOLD_BYTES = 1024;
/**
 * 'auto' writes a side file above this many fp32 weight bytes: the initializers then stream to disk chunk by chunk
 * instead of being copied into one protobuf buffer (which, for a 0.5B model, costs a second copy at load time), and
 * protobuf's 2 GiB limit is never near.
 */
const INLINE_LIMIT_BYTES = 64 * 1024 ** 2;

export interface BuildFileOptions {
  /**
   * 'auto' (default): side file when the fp32 weights exceed 64 MB (see INLINE_LIMIT_BYTES); 'always': always a side file
   * (named `externalFileName`, default model.onnx.data); 'never': single file (fails for > 2 GiB).
   */
  externalData?: 'auto' | 'always' | 'never';
  externalFileName?: string;
}

interface GraphInputs {
  inputIds: string;
  positionIds: string;
  mask: string;
  rows: string | null;
}

interface FusedGraphInputs extends GraphInputs {
  /** Only with GroupQueryAttention. */
  seqlensK: string;
  totalSequenceLength: string;
  /** [1,1,1,q] query-row weights for the attention mass, or null. */
  massRows: string | null;
}

/** The llama pipeline; Qwen2 and Qwen3 override single steps below. */
export class LlamaGraphBuilder {
  protected readonly g: OnnxGraph;
  protected rope!: RopeTables;
  protected attentionShared!: SharedAttentionInputs;
  protected embedding!: EmbeddingTable;

  constructor(
    protected readonly config: ModelConfig,
    protected readonly weights: Weights,
    protected readonly options: GraphOptions,
  ) {
    this.g = new OnnxGraph(`repopot-${config.architecture}`);
  }

  protected rotary!: RotaryCache;
  protected fusedIo!: FusedGraphInputs;
  /** Per layer, the fp32 past K and V the attention reads: the inputs themselves, or their Cast from fp16. */
  protected pastKeys: string[] = [];
  protected pastValues: string[] = [];

  /** Standard graphs over the 'headT' cache: [C], the capacity of the past buffers. */
  protected pastCapacity: string | null = null;

  protected get fused(): boolean {
    return (this.options.kernels ?? 'standard') === 'fused';
  }

  /** Fused graphs: GroupQueryAttention (head-major cache) unless attention 'sdpa' asks for the plain-op attention. */
  protected get gqa(): boolean {
    return (this.options.attention ?? 'gqa') === 'gqa';
  }

  build(): OnnxGraph {
    if (this.fused) return this.buildFused();
    const io = this.makeInputsAndOutputs();
    this.rope = makeRopeTables(this.g, io.positionIds, this.config.headDim, this.config.ropeTheta);
    this.attentionShared = makeSharedAttentionInputs(this.g, this.config, io.mask, io.rows);
    // Tied and quantized: one block-quantized table serves the lookup and the lm_head.
    this.embedding = makeEmbeddingTable(this.g, this.weight('model.embed_tokens.weight'), this.options.weights, this.config.tieWordEmbeddings);
    let hidden = makeEmbeddingLookup(this.g, this.embedding, io.inputIds);
    for (let i = 0; i < this.config.numLayers; i++) hidden = this.makeLayer(i, hidden);
    this.makeLogits(hidden);
    return this.g;
  }

  protected weight(name: string): WeightTensor {
    const w = this.weights.get(name);
    if (!w) throw new Error(`buildModelGraph (${this.config.sourceArchitecture}): missing weight ${name}`);
    return w;
  }

  protected makeInputsAndOutputs(): GraphInputs {
    const { numLayers, numKvHeads, headDim } = this.config;
    const g = this.g;
    const io: GraphInputs = {
      inputIds: g.input(inputNames.inputIds, 'int64', [1, 'q']),
      positionIds: g.input(inputNames.positionIds, 'int64', [1, 'q']),
      mask: g.input(inputNames.attentionMask, 'float32', [1, 1, 'q', 'total']),
      rows: this.options.attentionMass ? g.input(inputNames.attentionRows, 'float32', ['q']) : null,
    };
    if ((this.options.pastLayout ?? 'token') === 'headT') {
      for (let i = 0; i < numLayers; i++) this.makePastInputs(i, [1, numKvHeads, headDim, 'capacity'], [1, numKvHeads, 'capacity', headDim]);
      this.pastCapacity = makeCapacityBound(g, inputNames.pastValue(0));
    } else {
      for (let i = 0; i < numLayers; i++) this.makePastInputs(i, [1, 'past', numKvHeads, headDim]);
    }
    g.output(outputNames.logits, 'float32', [1, this.options.logits === 'last' ? 1 : 'q', this.config.vocabSize]);
    for (let i = 0; i < numLayers; i++) {
      g.output(outputNames.newKey(i), 'float32', [1, 'q', numKvHeads, headDim]);
      g.output(outputNames.newValue(i), 'float32', [1, 'q', numKvHeads, headDim]);
      if (this.options.attentionMass) g.output(outputNames.attentionMass(i), 'float32', ['total']);
    }
    return io;
  }

  /**
   * past.{i}.key / .value in the cache's dtype. An fp16 cache (kvDtype 'fp16') is cast to fp32 right at the input, so
   * the rest of the graph is the fp32 one: onnxruntime's CPU kernels for attention are fp32, and only the cache's
   * bytes were meant to shrink. New K/V stay fp32 outputs; the cache rounds them (engine/kvCache.ts).
   */
  protected makePastInputs(i: number, keyDims: (number | string)[], valueDims = keyDims): void {
    const g = this.g;
    const fp16 = (this.options.kvDtype ?? 'fp32') === 'fp16';
    const past = (name: string, dims: (number | string)[]) => {
      const input = g.input(name, fp16 ? 'float16' : 'float32', dims);
      return fp16 ? g.node('Cast', `${name}/Cast`, [input], { attrs: { to: { int: 1 } } }) : input;
    };
    this.pastKeys[i] = past(inputNames.pastKey(i), keyDims);
    this.pastValues[i] = past(inputNames.pastValue(i), valueDims);
  }

  /**
   *   x ─input_layernorm─attention─Add(x)─┬─post_attention_layernorm─mlp─Add→
   *                                       └───────────────────────────────┘
   */
  protected makeLayer(i: number, x: string): string {
    const p = layerPrefix(i);
    const name = `/model/layers.${i}`;
    const normed = makeRmsNorm(this.g, `${name}/input_layernorm`, x, `${p}.input_layernorm.weight`, this.weight(`${p}.input_layernorm.weight`), this.config.rmsNormEps);
    const attn = this.makeAttention(i, normed);
    const afterAttn = this.g.node('Add', `${name}/residual_attn/Add`, [x, attn]);
    const normed2 = makeRmsNorm(this.g, `${name}/post_attention_layernorm`, afterAttn, `${p}.post_attention_layernorm.weight`, this.weight(`${p}.post_attention_layernorm.weight`), this.config.rmsNormEps);
    const mlp = this.makeMlp(i, normed2);
    return this.g.node('Add', `${name}/residual_mlp/Add`, [afterAttn, mlp]);
  }

  /** The q/k/v projections; Qwen2 adds biases. Returns [q, heads*hd] tensors. */
  protected makeQkvProjections(i: number, x: string): { q: string; k: string; v: string } {
    const p = `${layerPrefix(i)}.self_attn`;
    const name = `/model/layers.${i}/attn`;
    const proj = (which: 'q' | 'k' | 'v') =>
      makeLinear(this.g, `${name}/${which}_proj`, x, `${p}.${which}_proj.weight`, this.weight(`${p}.${which}_proj.weight`), this.options.weights, this.projectionBias(i, which));
    return { q: proj('q'), k: proj('k'), v: proj('v') };
  }

  /** Llama has no q/k/v bias. */
  protected projectionBias(_i: number, _which: 'q' | 'k' | 'v'): WeightTensor | undefined {
    return undefined;
  }

  /** Per-head normalization of q and k before RoPE; identity for Llama. Inputs/outputs are [1, q, heads, hd]. */
  protected makeQkNorm(_i: number, q: string, k: string): { q: string; k: string } {
    return { q, k };
  }

  /**
   *   x ─q/k/v proj─Reshape[1,q,heads,hd]─(qk norm)─RoPE(q,k)─SDPA(past‖new)─o_proj→
   *                                                  └→ new.{i}.key   v ─→ new.{i}.value
   */
  protected makeAttention(i: number, x: string): string {
    const { numHeads, numKvHeads, headDim } = this.config;
    const g = this.g;
    const name = `/model/layers.${i}/attn`;
    const proj = this.makeQkvProjections(i, x);
    const qHeads = g.node('Reshape', `${name}/q/Reshape`, [proj.q, g.constInt64([1, -1, numHeads, headDim])]);
    const kHeads = g.node('Reshape', `${name}/k/Reshape`, [proj.k, g.constInt64([1, -1, numKvHeads, headDim])]);
    const vNew = g.node('Reshape', `${name}/v/Reshape`, [proj.v, g.constInt64([1, -1, numKvHeads, headDim])], {}, outputNames.newValue(i));
    const normed = this.makeQkNorm(i, qHeads, kHeads);
    const q = applyRope(g, `${name}/q_rotary`, normed.q, this.rope);
    const kNew = applyRope(g, `${name}/k_rotary`, normed.k, this.rope, outputNames.newKey(i));
    const inputs = { q, kNew, vNew, pastKey: this.pastKeys[i], pastValue: this.pastValues[i] };
    const mass = this.options.attentionMass ? outputNames.attentionMass(i) : null;
    const context = this.pastCapacity
      ? makeHeadMajorAttention(g, name, this.config, inputs, this.attentionShared, this.pastCapacity, mass)
      : makeAttentionCore(g, name, this.config, inputs, this.attentionShared, mass);
    const o = `${layerPrefix(i)}.self_attn.o_proj.weight`;
    return makeLinear(g, `${name}/o_proj`, context, o, this.weight(o), this.options.weights);
  }

  /**
   *   x ─┬─gate_proj─┬─Sigmoid─Mul─┐
   *      │           └────────────┘ Mul─down_proj→
   *      └─up_proj─────────────────┘
   */
  protected makeMlp(i: number, x: string): string {
    const g = this.g;
    const p = `${layerPrefix(i)}.mlp`;
    const name = `/model/layers.${i}/mlp`;
    const linear = (which: 'gate' | 'up' | 'down', input: string) =>
      makeLinear(g, `${name}/${which}_proj`, input, `${p}.${which}_proj.weight`, this.weight(`${p}.${which}_proj.weight`), this.options.weights);
    const gate = linear('gate', x);
    const sigmoid = g.node('Sigmoid', `${name}/act_fn/Sigmoid`, [gate]);
    const silu = g.node('Mul', `${name}/act_fn/Mul`, [gate, sigmoid]);
    const up = linear('up', x);
    const gated = g.node('Mul', `${name}/Mul`, [silu, up]);
    return linear('down', gated);
  }

  /**
   *   hidden [q,h] ─(logits 'last': Slice last row)─norm─lm_head─Reshape[1,-1,vocab]→ logits
   * Slicing before the norm means decode pays for one row of the (vocab × hidden) head, whatever q is.
   */
  protected makeLogits(hidden: string): void {
    const g = this.g;
    let rows = hidden;
    if (this.options.logits === 'last') {
      rows = g.node('Slice', '/model/last_row/Slice', [hidden, g.constInt64([-1]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([0])]);
    }
    const normed = makeRmsNorm(g, '/model/norm', rows, 'model.norm.weight', this.weight('model.norm.weight'), this.config.rmsNormEps);
    this.makeLmHead(normed);
  }

  /** RMSNorm in the graph's kernel style (Qwen3's per-head q/k norm goes through here). */
  protected rmsNorm(name: string, x: string, weightName: string): string {
    const w = this.weight(weightName);
    return this.fused ? makeFusedRmsNorm(this.g, name, x, weightName, w, this.config.rmsNormEps) : makeRmsNorm(this.g, name, x, weightName, w, this.config.rmsNormEps);
  }

  private buildFused(): OnnxGraph {
    this.fusedIo = this.makeFusedInputsAndOutputs();
    this.rotary = makeRotaryCache(this.g, this.config.headDim, this.config.ropeTheta, ropeTableSize(this.config.maxPositions));
    // Tied and quantized: one block-quantized table serves the lookup and the lm_head.
    this.embedding = makeEmbeddingTable(this.g, this.weight('model.embed_tokens.weight'), this.options.weights, this.config.tieWordEmbeddings);
    let residual = makeEmbeddingLookup(this.g, this.embedding, this.fusedIo.inputIds);
    let delta: string | null = null;
    for (let i = 0; i < this.config.numLayers; i++) ({ residual, delta } = this.makeFusedLayer(i, residual, delta));
    this.makeFusedLogits(residual, delta!);
    return this.g;
  }

  private makeFusedInputsAndOutputs(): FusedGraphInputs {
    const { numLayers, numKvHeads, headDim } = this.config;
    const g = this.g;
    const io: FusedGraphInputs = {
      inputIds: g.input(inputNames.inputIds, 'int64', [1, 'q']),
      positionIds: g.input(inputNames.positionIds, 'int64', [1, 'q']),
      mask: g.input(inputNames.attentionMask, 'float32', [1, 1, 'q', 'total']),
      rows: this.options.attentionMass ? g.input(inputNames.attentionRows, 'float32', ['q']) : null,
      seqlensK: this.gqa ? g.input(inputNames.seqlensK, 'int32', [1]) : '',
      totalSequenceLength: this.gqa ? g.input(inputNames.totalSequenceLength, 'int32', []) : '',
      massRows: null,
    };
    if (this.gqa) {
      if (io.rows) io.massRows = makeMassRows(g, io.rows);
    } else {
      this.attentionShared = makeSharedAttentionInputs(g, this.config, io.mask, io.rows);
    }
    for (let i = 0; i < numLayers; i++) this.makePastInputs(i, this.gqa ? [1, numKvHeads, 'capacity', headDim] : [1, 'past', numKvHeads, headDim]);
    g.output(outputNames.logits, 'float32', [1, this.options.logits === 'last' ? 1 : 'q', this.config.vocabSize]);
    for (let i = 0; i < numLayers; i++) {
      g.output(outputNames.newKey(i), 'float32', [1, 'q', numKvHeads * headDim]);
      g.output(outputNames.newValue(i), 'float32', [1, 'q', numKvHeads * headDim]);
      if (this.options.attentionMass) g.output(outputNames.attentionMass(i), 'float32', ['total']);
    }
    return io;
  }

  /**
   * The residual stream is carried as (residual, delta) so each add rides in the next SkipSimplifiedLayerNorm:
   *   (r, d) ─SkipNorm─┬─attention─┐
   *                    └─ r+d ─────SkipNorm─┬─mlp→ new d
   *                                         └─→ new r
   */
  private makeFusedLayer(i: number, residual: string, delta: string | null): { residual: string; delta: string } {
    const p = layerPrefix(i);
    const name = `/model/layers.${i}`;
    const eps = this.config.rmsNormEps;
    const inputNorm = `${p}.input_layernorm.weight`;
    let normed: string;
    let x = residual;
    if (delta === null) {
      normed = makeFusedRmsNorm(this.g, `${name}/input_layernorm`, residual, inputNorm, this.weight(inputNorm), eps);
    } else {
      ({ normed, sum: x } = makeSkipRmsNorm(this.g, `${name}/input_layernorm`, residual, delta, inputNorm, this.weight(inputNorm), eps));
    }
    const attn = this.makeFusedAttention(i, normed);
    const postNorm = `${p}.post_attention_layernorm.weight`;
    const post = makeSkipRmsNorm(this.g, `${name}/post_attention_layernorm`, x, attn, postNorm, this.weight(postNorm), eps);
    return { residual: post.sum, delta: this.makeFusedMlp(i, post.normed) };
  }

  /**
   *   x ─qkv_proj─Reshape[1,q,·]─Split─q,k,v ─(q/k norm)─RotaryEmbedding(q), RotaryEmbedding(k)→ new.{i}.key
   *                                      └→ new.{i}.value
   *   ─GroupQueryAttention(past.{i}.*)─Reshape[q,H*hd]─o_proj→
   */
  private makeFusedAttention(i: number, x: string): string {
    const { numHeads, numKvHeads, headDim } = this.config;
    const g = this.g;
    const p = `${layerPrefix(i)}.self_attn`;
    const name = `/model/layers.${i}/attn`;
    const parts = (['q', 'k', 'v'] as const).map((w) => ({ weight: this.weight(`${p}.${w}_proj.weight`), bias: this.projectionBias(i, w) }));
    const qkv = makeStackedLinear(g, `${name}/qkv_proj`, x, `${p}.qkv_proj.weight`, parts, this.options.weights);
    const qkv3 = g.node('Reshape', `${name}/qkv/Reshape`, [qkv, g.constInt64([1, -1, (numHeads + 2 * numKvHeads) * headDim])]);
    const [q, k, v] = g.nodeMulti('Split', `${name}/qkv/Split`, [qkv3, g.constInt64([numHeads * headDim, numKvHeads * headDim, numKvHeads * headDim])], [`${name}/q`, `${name}/k`, outputNames.newValue(i)], {
      attrs: { axis: { int: -1 } },
    });
    const normed = this.makeFusedQkNorm(i, q, k);
    const qRot = applyRotaryEmbedding(g, `${name}/q_rotary`, normed.q, this.fusedIo.positionIds, this.rotary, numHeads);
    const kRot = applyRotaryEmbedding(g, `${name}/k_rotary`, normed.k, this.fusedIo.positionIds, this.rotary, numKvHeads, outputNames.newKey(i));
    const io = this.fusedIo;
    let context2d: string;
    if (this.gqa) {
      const context = makeGroupQueryAttention(
        g,
        name,
        this.config,
        { q: qRot, k: kRot, v, pastKey: this.pastKeys[i], pastValue: this.pastValues[i], seqlensK: io.seqlensK, totalSequenceLength: io.totalSequenceLength, mask: io.mask },
        io.massRows ? { rows: io.massRows, output: outputNames.attentionMass(i) } : null,
      );
      context2d = g.node('Reshape', `${name}/ctx/Reshape`, [context, g.constInt64([-1, numHeads * headDim])]);
    } else {
      const heads = (x: string, n: number, which: string) => g.node('Reshape', `${name}/${which}/Reshape_heads4`, [x, g.constInt64([1, -1, n, headDim])]);
      context2d = makeAttentionCore(
        g,
        name,
        this.config,
        { q: heads(qRot, numHeads, 'q'), kNew: heads(kRot, numKvHeads, 'k'), vNew: heads(v, numKvHeads, 'v'), pastKey: this.pastKeys[i], pastValue: this.pastValues[i] },
        this.attentionShared,
        this.options.attentionMass ? outputNames.attentionMass(i) : null,
      );
    }
    const o = `${layerPrefix(i)}.self_attn.o_proj.weight`;
    return makeLinear(g, `${name}/o_proj`, context2d, o, this.weight(o), this.options.weights);
  }

  /** q [1,q,H*hd], k [1,q,kvH*hd]: per-head norm (Qwen3) through [1,q,heads,hd] views; identity otherwise. */
  private makeFusedQkNorm(i: number, q: string, k: string): { q: string; k: string } {
    if (!this.config.qkNorm) return { q, k };
    const { numHeads, numKvHeads, headDim } = this.config;
    const g = this.g;
    const name = `/model/layers.${i}/attn`;
    const q4 = g.node('Reshape', `${name}/q/Reshape_heads`, [q, g.constInt64([1, -1, numHeads, headDim])]);
    const k4 = g.node('Reshape', `${name}/k/Reshape_heads`, [k, g.constInt64([1, -1, numKvHeads, headDim])]);
    const normed = this.makeQkNorm(i, q4, k4);
    return {
      q: g.node('Reshape', `${name}/q/Reshape_flat`, [normed.q, g.constInt64([1, -1, numHeads * headDim])]),
      k: g.node('Reshape', `${name}/k/Reshape_flat`, [normed.k, g.constInt64([1, -1, numKvHeads * headDim])]),
    };
  }

  /**
   *   x ─gate_up_proj─Split─┬─gate─Sigmoid─Mul(gate)─┐
   *                         └─up──────────────────Mul─down_proj→
   */
  private makeFusedMlp(i: number, x: string): string {
    const g = this.g;
    const p = `${layerPrefix(i)}.mlp`;
    const name = `/model/layers.${i}/mlp`;
    const inter = this.config.intermediateSize;
    const parts = [{ weight: this.weight(`${p}.gate_proj.weight`) }, { weight: this.weight(`${p}.up_proj.weight`) }];
    const gateUp = makeStackedLinear(g, `${name}/gate_up_proj`, x, `${p}.gate_up_proj.weight`, parts, this.options.weights);
    const [gate, up] = g.nodeMulti('Split', `${name}/gate_up/Split`, [gateUp, g.constInt64([inter, inter])], 2, { attrs: { axis: { int: -1 } } });
    const sigmoid = g.node('Sigmoid', `${name}/act_fn/Sigmoid`, [gate]);
    const silu = g.node('Mul', `${name}/act_fn/Mul`, [gate, sigmoid]);
    const gated = g.node('Mul', `${name}/Mul`, [silu, up]);
    const down = `${p}.down_proj.weight`;
    return makeLinear(g, `${name}/down_proj`, gated, down, this.weight(down), this.options.weights);
  }

  /** (residual, delta) ─(logits 'last': Slice both)─SkipNorm─lm_head─Reshape→ logits */
  private makeFusedLogits(residual: string, delta: string): void {
    const g = this.g;
    let r = residual;
    let d = delta;
    if (this.options.logits === 'last') {
      const bounds = [g.constInt64([-1]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([0])];
      r = g.node('Slice', '/model/last_row/Slice_residual', [residual, ...bounds]);
      d = g.node('Slice', '/model/last_row/Slice_delta', [delta, ...bounds]);
    }
    const normed = makeSkipRmsNorm(g, '/model/norm', r, d, 'model.norm.weight', this.weight('model.norm.weight'), this.config.rmsNormEps).normed;
    this.makeLmHead(normed);
  }

  protected makeLmHead(normed: string): void {
    const g = this.g;
    const logits2d = this.config.tieWordEmbeddings
      ? makeTiedLmHead(g, normed, this.embedding, this.weight('model.embed_tokens.weight'), this.options.weights)
      : makeLinear(g, '/lm_head', normed, 'lm_head.weight', this.weight('lm_head.weight'), this.options.weights);
    g.node('Reshape', '/lm_head/Reshape_out', [logits2d, g.constInt64([1, -1, this.config.vocabSize])], {}, outputNames.logits);
  }
}

/** Qwen2: q/k/v projections carry a bias. */
export class Qwen2GraphBuilder extends LlamaGraphBuilder {
  protected override projectionBias(i: number, which: 'q' | 'k' | 'v'): WeightTensor | undefined {
    return this.weight(`${layerPrefix(i)}.self_attn.${which}_proj.bias`);
  }
}

/** Qwen3: per-head RMSNorm on q and k (over headDim) before RoPE; head_dim is explicit in its config. */
export class Qwen3GraphBuilder extends LlamaGraphBuilder {
  protected override makeQkNorm(i: number, q: string, k: string): { q: string; k: string } {
    const p = `${layerPrefix(i)}.self_attn`;
    const name = `/model/layers.${i}/attn`;
    return {
      q: this.rmsNorm(`${name}/q_norm`, q, `${p}.q_norm.weight`),
      k: this.rmsNorm(`${name}/k_norm`, k, `${p}.k_norm.weight`),
    };
  }
}

type BuilderClass = new (config: ModelConfig, weights: Weights, options: GraphOptions) => LlamaGraphBuilder;

/** Each architecture's builder and the flags it implements; a config asking for another combination is refused. */
export const graphBuilders: Readonly<Record<Architecture, { Builder: BuilderClass; qkvBias: boolean; qkNorm: boolean }>> = {
  llama: { Builder: LlamaGraphBuilder, qkvBias: false, qkNorm: false },
  qwen2: { Builder: Qwen2GraphBuilder, qkvBias: true, qkNorm: false },
  qwen3: { Builder: Qwen3GraphBuilder, qkvBias: false, qkNorm: true },
};

/**
 * Builds and serializes the graph. Small models come back as one buffer (loadable from memory); large ones
 * (or externalData: 'always') carry their weights as chunks for a side file — write both with writeModelFiles.
 */
export function buildModelGraph(config: ModelConfig, weights: Weights, options: GraphOptions, files: BuildFileOptions = {}): SerializedModel {
  const entry = registryEntry(graphBuilders, config.architecture);
  if (!entry) throw new Error(`buildModelGraph: no graph builder for architecture ${config.architecture} (have: ${registryNames(graphBuilders).join(', ')})`);
  if (entry.qkvBias !== config.qkvBias || entry.qkNorm !== config.qkNorm) {
    throw new Error(
      `buildModelGraph: ${config.sourceArchitecture} config has qkvBias=${config.qkvBias}, qkNorm=${config.qkNorm}; ` +
        `the ${config.architecture} builder implements qkvBias=${entry.qkvBias}, qkNorm=${entry.qkNorm}`,
    );
  }
  const graph = new entry.Builder(config, weights, options).build();
  const mode = files.externalData ?? 'auto';
  let weightBytes = 0;
  for (const w of weights.values()) weightBytes += 4 * w.shape.reduce((a, b) => a * b, 1);
  const external = mode === 'always' || (mode === 'auto' && weightBytes > INLINE_LIMIT_BYTES);
  return graph.serialize({
    externalThresholdBytes: external ? EXTERNAL_THRESHOLD_BYTES : Infinity,
    externalFileName: files.externalFileName ?? 'model.onnx.data',
  });
}
