// Parity with an independent exporter: reads a Llama model written by onnxruntime-genai's builder (fp16,
// com.microsoft RotaryEmbedding/MultiHeadAttention/SkipSimplifiedLayerNormalization), maps its initializers back to
// Hugging Face names, builds OUR graph from those weights, and runs both in onnxruntime on the same tokens.
//
// genai layout → ours:  model.layers.{i}.attn.{q,k,v,o}_proj.MatMul.weight [in,out] fp16 → self_attn.*.weight [out,in]
//                       model.layers.{i}.mlp.*.MatMul.weight [in,out]               → mlp.*.weight [out,in]
//                       model.layers.{n}.final_norm_layernorm.weight                → model.norm.weight
//                       lm_head.MatMul.weight [hidden,vocab]                        → lm_head.weight [vocab,hidden]
// RMSNorm eps comes from the norm nodes' epsilon attribute; RoPE theta is not stored, so the default (10000) is
// checked against the exported cos_cache.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { layerPrefix, type ModelConfig, type WeightTensor, type Weights } from '../model/config.js';
import { widenFp16 } from '../model/halfFloat.js';
import { transpose2d } from './quantize.js';
import { buildModelGraph } from './builder.js';
import { causalMask, inputNames, outputNames } from './contract.js';
import { ElemType } from './onnxProto.js';
import { ropeInverseFrequencies } from './rope.js';
import { openSession, type HostTensor, type RuntimeSession } from '../runtime/ort.js';

export interface OrtGenaiModel {
  modelPath: string;
  config: ModelConfig;
  /** HF-named fp32 weights (exact widenings of the fp16 initializers). */
  weights: Weights;
}

/** Initializer name → fp32 values, reading external data by offset/length from the side file. */
function readInitializers(modelPath: string, model: onnx.ModelProto): Map<string, WeightTensor> {
  const dir = path.dirname(modelPath);
  const tensors = new Map<string, WeightTensor>();
  const openFiles = new Map<string, number>();
  try {
    for (const init of model.graph?.initializer ?? []) {
      const name = init.name ?? '';
      const shape = (init.dims ?? []).map((d) => Number(d));
      const count = shape.reduce((a, b) => a * b, 1);
      let bytes: Uint8Array;
      if (init.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
        const entries = new Map((init.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
        const location = entries.get('location');
        if (!location) throw new Error(`${modelPath}: initializer ${name} is external but names no location`);
        const file = path.join(dir, location);
        let fd = openFiles.get(file);
        if (fd === undefined) {
          fd = fs.openSync(file, 'r');
          openFiles.set(file, fd);
        }
        const offset = Number(entries.get('offset') ?? 0);
        const length = Number(entries.get('length') ?? 0);
        bytes = new Uint8Array(length);
        const read = fs.readSync(fd, bytes, 0, length, offset);
        if (read !== length) throw new Error(`${file}: initializer ${name} wants ${length} bytes at ${offset}, file has ${read}`);
      } else if (init.rawData && init.rawData.length) {
        bytes = init.rawData.slice(); // copy: protobufjs' view may be unaligned
      } else {
        continue; // scalar constants stored in typed fields are not weights
      }
      const data = new Float32Array(count);
      if (init.dataType === ElemType.float16) {
        if (bytes.byteLength !== count * 2) throw new Error(`${modelPath}: fp16 initializer ${name} has ${bytes.byteLength} bytes for ${count} values`);
        widenFp16(new Uint16Array(bytes.buffer, bytes.byteOffset, count), data, 0);
      } else if (init.dataType === ElemType.float32) {
        data.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
      } else {
        continue; // int64 shape constants and the like
      }
      tensors.set(name, { shape, data });
    }
  } finally {
    for (const fd of openFiles.values()) fs.closeSync(fd);
  }
  return tensors;
}

function normEpsilon(model: onnx.ModelProto, modelPath: string): number {
  for (const node of model.graph?.node ?? []) {
    if (!/LayerNormalization$/.test(node.opType ?? '')) continue;
    const eps = node.attribute?.find((a) => a.name === 'epsilon');
    if (eps?.f) return eps.f;
  }
  throw new Error(`${modelPath}: no LayerNormalization node with an epsilon attribute`);
}

interface GenaiConfigFile {
  model?: {
    bos_token_id?: number;
    eos_token_id?: number | number[];
    context_length?: number;
    type?: string;
    vocab_size?: number;
    decoder?: { head_size?: number; hidden_size?: number; num_attention_heads?: number; num_hidden_layers?: number; num_key_value_heads?: number };
  };
}

/** Parses `dir/genai_config.json` + `dir/model.onnx` (+ its .data) into our config and HF-named weights. */
export function importOrtGenaiModel(dir: string): OrtGenaiModel {
  const configPath = path.join(dir, 'genai_config.json');
  const modelPath = path.join(dir, 'model.onnx');
  const genai = JSON.parse(fs.readFileSync(configPath, 'utf8')) as GenaiConfigFile;
  const decoder = genai.model?.decoder;
  if (!genai.model || !decoder) throw new Error(`${configPath}: missing model.decoder`);
  if (genai.model.type !== 'llama') throw new Error(`${configPath}: model type ${genai.model.type} is not supported (only llama)`);
  const need = (value: number | undefined, field: string): number => {
    if (typeof value !== 'number') throw new Error(`${configPath}: missing ${field}`);
    return value;
  };
  const model = onnx.ModelProto.decode(fs.readFileSync(modelPath));
  const raw = readInitializers(modelPath, model);
  const take = (name: string): WeightTensor => {
    const t = raw.get(name);
    if (!t) throw new Error(`${modelPath}: missing initializer ${name}`);
    return t;
  };
  /** genai stores MatMul weights [in, out]; HF linear weights are [out, in]. */
  const linear = (name: string): WeightTensor => {
    const t = take(name);
    const [inF, outF] = t.shape;
    return { shape: [outF, inF], data: transpose2d(t.data, inF, outF) };
  };

  const numLayers = need(decoder.num_hidden_layers, 'model.decoder.num_hidden_layers');
  const headDim = need(decoder.head_size, 'model.decoder.head_size');
  const weights: Weights = new Map();
  weights.set('model.embed_tokens.weight', take('model.embed_tokens.weight'));
  for (let i = 0; i < numLayers; i++) {
    const p = layerPrefix(i);
    const g = `model.layers.${i}`;
    weights.set(`${p}.input_layernorm.weight`, take(`${g}.input_layernorm.weight`));
    weights.set(`${p}.post_attention_layernorm.weight`, take(`${g}.post_attention_layernorm.weight`));
    for (const w of ['q', 'k', 'v', 'o']) weights.set(`${p}.self_attn.${w}_proj.weight`, linear(`${g}.attn.${w}_proj.MatMul.weight`));
    for (const w of ['gate', 'up', 'down']) weights.set(`${p}.mlp.${w}_proj.weight`, linear(`${g}.mlp.${w}_proj.MatMul.weight`));
  }
  weights.set('model.norm.weight', take(`model.layers.${numLayers}.final_norm_layernorm.weight`));
  const tied = !raw.has('lm_head.MatMul.weight');
  if (!tied) weights.set('lm_head.weight', linear('lm_head.MatMul.weight'));

  const eos = genai.model.eos_token_id;
  const config: ModelConfig = {
    architecture: 'llama',
    sourceArchitecture: 'LlamaForCausalLM (onnxruntime-genai export)',
    vocabSize: need(genai.model.vocab_size, 'model.vocab_size'),
    hiddenSize: need(decoder.hidden_size, 'model.decoder.hidden_size'),
    intermediateSize: weights.get(`${layerPrefix(0)}.mlp.gate_proj.weight`)!.shape[0],
    numLayers,
    numHeads: need(decoder.num_attention_heads, 'model.decoder.num_attention_heads'),
    numKvHeads: need(decoder.num_key_value_heads, 'model.decoder.num_key_value_heads'),
    headDim,
    ropeTheta: 10000,
    rmsNormEps: normEpsilon(model, modelPath),
    maxPositions: genai.model.context_length ?? 2048,
    tieWordEmbeddings: tied,
    qkvBias: false,
    qkNorm: false,
    bosTokenId: genai.model.bos_token_id,
    eosTokenIds: eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
  };
  checkRopeTheta(raw.get('cos_cache'), config, modelPath);
  return { modelPath, config, weights };
}

/** The exported cos_cache [positions, hd/2] must equal cos(p * inv_freq) for our theta (to fp16 precision). */
function checkRopeTheta(cosCache: WeightTensor | undefined, config: ModelConfig, modelPath: string): void {
  if (!cosCache) return;
  const invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta);
  const half = config.headDim / 2;
  const rows = Math.min(cosCache.shape[0], 64);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      if (Math.abs(cosCache.data[p * half + i] - Math.cos(p * invFreq[i])) > 2e-3) {
        throw new Error(`${modelPath}: cos_cache does not match RoPE theta ${config.ropeTheta} at position ${p}, frequency ${i}`);
      }
    }
  }
}

export interface OrtGenaiParity {
  maxAbsDiff: number;
  /** Largest |logit| seen; the tolerance scales with it. */
  maxAbsLogit: number;
  /** ORTGENAI_PARITY_ULPS fp16 ulps at maxAbsLogit. */
  tolerance: number;
  pass: boolean;
}

/**
 * Tolerance for |our logit - their logit|. Their graph computes in fp16 (every activation rounded to an 11-bit
 * mantissa) and returns fp16 logits, ours computes in fp32 from bit-identical weights; so the floor of the gap is
 * the fp16 spacing (ulp) at the logits' magnitude, plus a few ulps of accumulated rounding over the layers.
 * We allow 8 ulps of the largest logit (≈2e-3 for this model's |logits| < 0.5; measured gap ≈1 ulp). A wrong RoPE
 * theta, weight layout or epsilon moves logits by > 0.1 here, 50x over the bound.
 */
export const ORTGENAI_PARITY_ULPS = 8;

/** fp16 spacing at |x| (normal range): 2^(floor(log2|x|) - 10). */
function fp16Ulp(x: number): number {
  return Math.pow(2, Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -14))) - 10);
}

const int64 = (values: number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

function widen(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (!(t.data instanceof Uint16Array)) throw new Error('expected a float16 or float32 tensor');
  const out = new Float32Array(t.data.length);
  widenFp16(t.data, out, 0);
  return out;
}

/**
 * Prefill of an 8-token prompt, then 2 decode steps, through both graphs; each side keeps its own KV cache.
 * Compares logits (every prompt row and each decode row) and our new keys against genai's present keys.
 */
export async function runOrtGenaiParity(dir: string): Promise<OrtGenaiParity> {
  return compareWithOrtGenai(importOrtGenaiModel(dir));
}

/** The comparison behind runOrtGenaiParity, on an imported model (tests tamper with its weights to see it fail). */
export async function compareWithOrtGenai(imported: OrtGenaiModel): Promise<OrtGenaiParity> {
  const { config, weights } = imported;
  const ours = buildModelGraph(config, weights, { weights: 'fp32', logits: 'all', attentionMass: false });
  const sessions: RuntimeSession[] = [];
  try {
    const theirs = await openSession(imported.modelPath, { device: 'cpu', threads: 1 });
    sessions.push(theirs);
    const mine = await openSession(ours.model, { device: 'cpu', threads: 1 });
    sessions.push(mine);

    const { numLayers, numKvHeads: kvH, headDim: hd, vocabSize } = config;
    const prompt = [1, 450, 4996, 17354, 1701, 432, 17204, 975];
    const steps = [prompt, [278], [17366]];
    // genai cache: head-major fp16 [1, kvH, past, hd]; ours: token-major fp32 [1, past, kvH, hd].
    let theirPast: HostTensor[] = Array.from({ length: numLayers * 2 }, () => ({ dims: [1, kvH, 0, hd], data: new Uint16Array(0) }));
    let myPast: Float32Array[] = Array.from({ length: numLayers * 2 }, () => new Float32Array(0));
    let pastLength = 0;
    let maxAbsDiff = 0;
    let maxAbsLogit = 0;
    for (const tokens of steps) {
      const q = tokens.length;
      const total = pastLength + q;
      const positions = tokens.map((_, r) => pastLength + r);
      const theirFeeds: Record<string, HostTensor> = {
        input_ids: { dims: [1, q], data: int64(tokens) },
        position_ids: { dims: [1, q], data: int64(positions) },
        attention_mask: { dims: [1, total], data: int64(Array(total).fill(1)) },
      };
      const mask = causalMask(pastLength, q);
      const myFeeds: Record<string, HostTensor> = {
        [inputNames.inputIds]: { dims: [1, q], data: int64(tokens) },
        [inputNames.positionIds]: { dims: [1, q], data: int64(positions) },
        [inputNames.attentionMask]: { dims: [1, 1, q, total], data: mask },
      };
      for (let i = 0; i < numLayers; i++) {
        theirFeeds[`past_key_values.${i}.key`] = theirPast[2 * i];
        theirFeeds[`past_key_values.${i}.value`] = theirPast[2 * i + 1];
        myFeeds[inputNames.pastKey(i)] = { dims: [1, pastLength, kvH, hd], data: myPast[2 * i] };
        myFeeds[inputNames.pastValue(i)] = { dims: [1, pastLength, kvH, hd], data: myPast[2 * i + 1] };
      }
      const theirOut = await theirs.run(theirFeeds);
      const myOut = await mine.run(myFeeds);
      const theirLogits = widen(theirOut.logits);
      const myLogits = widen(myOut[outputNames.logits]);
      if (theirLogits.length !== q * vocabSize || myLogits.length !== q * vocabSize) {
        throw new Error(`runOrtGenaiParity: logits sizes ${theirLogits.length} / ${myLogits.length}, expected ${q * vocabSize}`);
      }
      for (let j = 0; j < myLogits.length; j++) {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(myLogits[j] - theirLogits[j]));
        maxAbsLogit = Math.max(maxAbsLogit, Math.abs(theirLogits[j]));
      }
      const nextTheirs: HostTensor[] = [];
      const nextMine: Float32Array[] = [];
      for (let i = 0; i < numLayers; i++) {
        for (const [kind, newName] of [['key', outputNames.newKey(i)], ['value', outputNames.newValue(i)]] as const) {
          const present = theirOut[`present.${i}.${kind}`];
          nextTheirs.push({ dims: present.dims, data: present.data as Uint16Array });
          // Keys/values of the new tokens must agree too (post-RoPE keys, head-major there, token-major here).
          const presentF = widen(present);
          const mineNew = widen(myOut[newName]);
          for (let r = 0; r < q; r++) {
            for (let h = 0; h < kvH; h++) {
              for (let d = 0; d < hd; d++) {
                const a = mineNew[(r * kvH + h) * hd + d];
                const b = presentF[(h * total + pastLength + r) * hd + d];
                maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b));
              }
            }
          }
          const cache = myPast[2 * i + (kind === 'key' ? 0 : 1)];
          const grown = new Float32Array(cache.length + mineNew.length);
          grown.set(cache);
          grown.set(mineNew, cache.length);
          nextMine.push(grown);
        }
      }
      theirPast = nextTheirs;
      myPast = nextMine;
      pastLength = total;
    }
    const tolerance = ORTGENAI_PARITY_ULPS * fp16Ulp(maxAbsLogit);
    return { maxAbsDiff, maxAbsLogit, tolerance, pass: maxAbsDiff <= tolerance && maxAbsLogit > 0 };
  } finally {
    for (const s of sessions) await s.dispose();
  }
}
