// Steering vectors (Belitsky et al. 2025, "KV Cache Steering"): per layer and KV head, the mean over
// contrastive pairs of K/V(positive example) − K/V(negative example) read at one token position.
//
// Extraction position, as in the paper's code (MaxBelitsky/cache-steering: few-shot demonstrations
// with reasoning vs. without, then the question, read at the end of the prompt): each example is
// `demos` other training pairs (prompt + completion: trace + answer in the positive, the bare answer
// in the negative) followed by the pair's own prompt, and K/V are read at that prompt's SECOND-TO-LAST
// token: exactly the slot the one-shot edit targets at inference, where the prompt is prefilled
// without its last token (the paper appends an offset token for the same alignment). The two examples
// of a pair differ only in whether the demonstrations reason. 'completion-end' (read at the last token
// of one pair's prompt + completion) is kept as an option for comparison.
// Keys in our cache are post-RoPE and the two examples end at different positions, so each key is
// un-rotated to position 0 before averaging; apply.ts re-rotates ΔK to the slot it edits.
// Layer 0 is never steered (its K/V depend only on the token and its position).
import type { Engine } from '../engine/engine';
import { fillKeyRotation, keyRopeFrequencies, rotateKeyHead, type CacheShape } from '../engine/kvCache';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../model/safetensors';
import type { WeightTensor } from '../model/config';
import { encodeExample, promptFormat, type SteeringPair } from './pairs';

export class SteeringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SteeringError';
  }
}

export const VECTORS_FORMAT = 'repopot-steering-v1';
export type ExtractionMode = 'fewshot-query' | 'completion-end';
export const EXTRACTION_DOCS: Record<ExtractionMode, string> = {
  'fewshot-query': 'N demonstrations (prompt + trace/bare completion) then the pair prompt; K/V at its second-to-last token (the slot steered at inference); keys un-rotated to position 0',
  'completion-end': 'pair prompt + completion; K/V at its last token (the completion end); keys un-rotated to position 0',
};
export const DEFAULT_DEMOS = 3;
/** Where vectors for a model live by default: next to its weights. */
export const DEFAULT_VECTORS_FILE = 'steering.safetensors';

export interface SteeringVectors {
  modelHash: string;
  shape: Pick<CacheShape, 'numLayers' | 'numKvHeads' | 'headDim' | 'ropeTheta'>;
  /** Layers that carry vectors, ascending (every layer but the first). */
  layers: number[];
  /** Per entry of `layers`: ΔK position-free (un-rotated), kvHeads × headDim floats. */
  keys: Float32Array[];
  /** Per entry of `layers`: ΔV, kvHeads × headDim floats. */
  values: Float32Array[];
  pairs: number;
  extractionPosition: string;
  /** Tuned defaults stored with the vectors (c_k = 0 per the issue; c_v from the training split). */
  defaultCValue?: number;
  defaultLayers?: number[];
  /** Held-out accuracy gain of steering over the plain prompt, in points (from `bench steer --update-vectors`). */
  evaluatedGain?: number;
  /** The file the vectors came from, for messages. */
  file?: string;
}

/** Token ids of one contrastive pair and where to read them. */
export interface TokenPair {
  positive: number[];
  negative: number[];
  /** Read K/V this many tokens from the end: 1 = last token (default), 2 = second-to-last. */
  fromEnd?: number;
}

export interface TokenizeOptions {
  mode?: ExtractionMode;
  /** fewshot-query: demonstrations before each pair's prompt (fewer when the context is short). */
  demos?: number;
}

/** Formats pairs with the engine's tokenizer (RepoPot template or plain frame) as contrastive examples. */
export function tokenizePairs(engine: Engine, pairs: readonly SteeringPair[], options: TokenizeOptions = {}): TokenPair[] {
  const tokenizer = engine.tokenizer;
  const format = promptFormat(tokenizer);
  const mode = options.mode ?? 'fewshot-query';
  const out: TokenPair[] = [];
  for (const [i, p] of pairs.entries()) {
    const prompt = format.prompt(p.files, p.question);
    if (mode === 'completion-end') {
      out.push({ positive: encodeExample(tokenizer, prompt + format.positive(p.trace, p.answer)), negative: encodeExample(tokenizer, prompt + format.negative(p.answer)), fromEnd: 1 });
      continue;
    }
    // Demonstrations: the next pairs in file order (the generator interleaves kinds), as many as fit.
    for (let k = Math.min(options.demos ?? DEFAULT_DEMOS, pairs.length - 1); k >= 1; k--) {
      const demos = Array.from({ length: k }, (_, j) => pairs[(i + 1 + j) % pairs.length]);
      const positive = encodeExample(tokenizer, demos.map((d) => format.prompt(d.files, d.question) + format.positive(d.trace, d.answer) + format.separator).join('') + prompt);
      if (positive.length > engine.config.maxPositions) continue;
      const negative = encodeExample(tokenizer, demos.map((d) => format.prompt(d.files, d.question) + format.negative(d.answer) + format.separator).join('') + prompt);
      out.push({ positive, negative, fromEnd: 2 });
      break;
    }
  }
  return out;
}

/**
 * Rotates each head of a K row by `position` (negative: un-rotates) with the cache's rotate-half
 * RoPE: pairs (i, i + headDim/2) turn by position·theta^(−2i/headDim).
 */
export function rotateKeyRow(row: Float32Array, shape: Pick<CacheShape, 'numKvHeads' | 'headDim' | 'ropeTheta'>, position: number): Float32Array {
  const { numKvHeads, headDim } = shape;
  const cos = new Float64Array(headDim / 2);
  const sin = new Float64Array(headDim / 2);
  fillKeyRotation(keyRopeFrequencies(shape), position, cos, sin);
  const out = new Float32Array(row.length);
  for (let h = 0; h < numKvHeads; h++) rotateKeyHead(row, h * headDim, out, h * headDim, cos, sin);
  return out;
}

export interface ExampleState {
  /** Per layer, the position-free K row and the V row of the example's last token. */
  keys: Float32Array[];
  values: Float32Array[];
}

/** Prefills one example in a fresh cache and reads K (un-rotated) and V `fromEnd` tokens from its end. */
export async function readTokenState(engine: Engine, tokens: readonly number[], fromEnd = 1, signal?: AbortSignal): Promise<ExampleState> {
  if (!Number.isInteger(fromEnd) || fromEnd < 1 || fromEnd > tokens.length) throw new SteeringError(`cannot read token ${fromEnd} from the end of a ${tokens.length}-token example`);
  const cache = engine.newCache(tokens.length);
  await engine.prefill(cache, tokens, { signal });
  const slot = cache.length - fromEnd;
  const position = cache.position(slot);
  const keys: Float32Array[] = [];
  const values: Float32Array[] = [];
  for (let l = 0; l < engine.config.numLayers; l++) {
    keys.push(rotateKeyRow(cache.readRow('key', l, slot), cache.shape, -position));
    values.push(cache.readRow('value', l, slot));
  }
  return { keys, values };
}

export interface BuildOptions {
  /** Recorded in the metadata: how the token pairs were made (tokenizePairs' mode). */
  extraction?: ExtractionMode;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Mean over pairs of (positive − negative) K/V at the last token, for every layer but the first. */
export async function buildSteeringVectors(engine: Engine, pairs: readonly TokenPair[], options: BuildOptions = {}): Promise<SteeringVectors> {
  if (pairs.length === 0) throw new SteeringError('build: no pairs');
  const c = engine.config;
  const maxTokens = Math.max(...pairs.flatMap((p) => [p.positive.length, p.negative.length]));
  if (maxTokens > c.maxPositions) throw new SteeringError(`build: an example has ${maxTokens} tokens, more than the model's ${c.maxPositions}-token context`);
  const rowSize = c.numKvHeads * c.headDim;
  const layers = Array.from({ length: c.numLayers - 1 }, (_, i) => i + 1);
  const keySums = layers.map(() => new Float64Array(rowSize));
  const valueSums = layers.map(() => new Float64Array(rowSize));
  for (let i = 0; i < pairs.length; i++) {
    const positive = await readTokenState(engine, pairs[i].positive, pairs[i].fromEnd ?? 1, options.signal);
    const negative = await readTokenState(engine, pairs[i].negative, pairs[i].fromEnd ?? 1, options.signal);
    layers.forEach((layer, j) => {
      for (let x = 0; x < rowSize; x++) {
        keySums[j][x] += positive.keys[layer][x] - negative.keys[layer][x];
        valueSums[j][x] += positive.values[layer][x] - negative.values[layer][x];
      }
    });
    options.onProgress?.(i + 1, pairs.length);
  }
  const mean = (sum: Float64Array) => Float32Array.from(sum, (s) => s / pairs.length);
  return {
    modelHash: engine.model.weightsHash,
    shape: engine.cacheShape,
    layers,
    keys: keySums.map(mean),
    values: valueSums.map(mean),
    pairs: pairs.length,
    extractionPosition: options.extraction ?? 'fewshot-query',
  };
}

export async function saveSteeringVectors(file: string, vectors: SteeringVectors): Promise<void> {
  const { numKvHeads, headDim } = vectors.shape;
  const tensors = new Map<string, WeightTensor>();
  vectors.layers.forEach((layer, j) => {
    tensors.set(`layers.${layer}.key`, { shape: [numKvHeads, headDim], data: vectors.keys[j] });
    tensors.set(`layers.${layer}.value`, { shape: [numKvHeads, headDim], data: vectors.values[j] });
  });
  const metadata: Record<string, string> = {
    format: VECTORS_FORMAT,
    model_hash: vectors.modelHash,
    num_layers: String(vectors.shape.numLayers),
    num_kv_heads: String(numKvHeads),
    head_dim: String(headDim),
    rope_theta: String(vectors.shape.ropeTheta),
    layers: JSON.stringify(vectors.layers),
    pairs: String(vectors.pairs),
    extraction_position: vectors.extractionPosition,
    extraction_position_doc: EXTRACTION_DOCS[vectors.extractionPosition as ExtractionMode] ?? vectors.extractionPosition,
    key_form: 'position-free (un-rotated); re-rotated to the edited slot when applied',
  };
  if (vectors.defaultCValue !== undefined) metadata.default_c_value = String(vectors.defaultCValue);
  if (vectors.defaultLayers !== undefined) metadata.default_layers = JSON.stringify(vectors.defaultLayers);
  if (vectors.evaluatedGain !== undefined && Number.isFinite(vectors.evaluatedGain)) metadata.evaluated_gain = String(vectors.evaluatedGain);
  await writeSafetensors(file, tensors, 'F32', metadata);
}

export interface ModelIdentity {
  modelHash: string;
  shape: Pick<CacheShape, 'numLayers' | 'numKvHeads' | 'headDim'>;
}

/** Loads vectors; with `model`, also checks they were built for it (hash and shapes). */
export async function loadSteeringVectors(file: string, model?: ModelIdentity): Promise<SteeringVectors> {
  const fail = (problem: string): never => {
    throw new SteeringError(`${file}: ${problem}`);
  };
  let header;
  try {
    header = await readSafetensorsHeader(file);
  } catch (error) {
    return fail(`cannot read steering vectors (${error instanceof Error ? error.message : String(error)})`);
  }
  const meta = header.metadata;
  if (meta.format !== VECTORS_FORMAT) fail(`not a RepoPot steering-vectors file (format "${meta.format ?? 'missing'}", expected "${VECTORS_FORMAT}")`);
  const int = (key: string) => {
    const n = Number(meta[key]);
    if (!Number.isInteger(n) || n <= 0) fail(`metadata "${key}" is missing or invalid`);
    return n;
  };
  const shape = { numLayers: int('num_layers'), numKvHeads: int('num_kv_heads'), headDim: int('head_dim'), ropeTheta: Number(meta.rope_theta) };
  let layers: number[];
  try {
    layers = JSON.parse(meta.layers ?? 'null') as number[];
  } catch {
    return fail('metadata "layers" is not JSON');
  }
  if (!Array.isArray(layers) || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= shape.numLayers)) fail('metadata "layers" is not a list of layer indices');
  const tensors = await readSafetensors(file);
  const rowSize = shape.numKvHeads * shape.headDim;
  const take = (name: string) => {
    const t = tensors.get(name);
    if (!t) return fail(`tensor "${name}" is missing`);
    if (t.data.length !== rowSize) fail(`tensor "${name}" has ${t.data.length} values, expected ${shape.numKvHeads}×${shape.headDim}`);
    return t.data;
  };
  const vectors: SteeringVectors = {
    modelHash: meta.model_hash ?? '',
    shape,
    layers,
    keys: layers.map((l) => take(`layers.${l}.key`)),
    values: layers.map((l) => take(`layers.${l}.value`)),
    pairs: Number(meta.pairs),
    extractionPosition: meta.extraction_position ?? 'unknown',
    defaultCValue: meta.default_c_value !== undefined ? Number(meta.default_c_value) : undefined,
    defaultLayers: meta.default_layers !== undefined ? (JSON.parse(meta.default_layers) as number[]) : undefined,
    evaluatedGain: meta.evaluated_gain !== undefined ? Number(meta.evaluated_gain) : undefined,
    file,
  };
  if (model) checkVectorsForModel(vectors, model);
  return vectors;
}

/** Throws a SteeringError naming the file when vectors do not belong to the model. */
export function checkVectorsForModel(vectors: SteeringVectors, model: ModelIdentity): void {
  const where = vectors.file ?? 'steering vectors';
  if (vectors.modelHash !== model.modelHash) {
    throw new SteeringError(`${where}: built for another model (hash ${short(vectors.modelHash)}, this model is ${short(model.modelHash)}); rebuild them with "repopot steer build"`);
  }
  const s = vectors.shape;
  const m = model.shape;
  if (s.numLayers !== m.numLayers || s.numKvHeads !== m.numKvHeads || s.headDim !== m.headDim) {
    throw new SteeringError(`${where}: shape ${s.numLayers} layers × ${s.numKvHeads} KV heads × ${s.headDim} does not match the model (${m.numLayers} × ${m.numKvHeads} × ${m.headDim})`);
  }
  const rowSize = m.numKvHeads * m.headDim;
  vectors.keys.forEach((k, j) => {
    if (k.length !== rowSize || vectors.values[j]?.length !== rowSize) throw new SteeringError(`${where}: layer ${vectors.layers[j]} vectors hold ${k.length}/${vectors.values[j]?.length} floats, expected ${rowSize}`);
  });
  if (vectors.keys.length !== vectors.layers.length || vectors.values.length !== vectors.layers.length) {
    throw new SteeringError(`${where}: ${vectors.layers.length} layers but ${vectors.keys.length} key and ${vectors.values.length} value vectors`);
  }
}

function short(hash: string): string {
  return hash.length > 24 ? `${hash.slice(0, 24)}…` : hash || '(none)';
}
