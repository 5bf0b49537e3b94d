// Maps a Hugging Face config.json onto ModelConfig. Architectures are registered in a table (not an if/else
// chain): each entry names our graph family and the per-architecture overrides.
import type { Architecture, ModelConfig } from './config';
import { ModelImportError } from './errors';

interface ArchitectureSpec {
  architecture: Architecture;
  qkvBias: boolean;
  qkNorm: boolean;
}

const supportedArchitectures = new Map<string, ArchitectureSpec>([
  ['LlamaForCausalLM', { architecture: 'llama', qkvBias: false, qkNorm: false }], // Llama, SmolLM2, TinyLlama
  ['Qwen2ForCausalLM', { architecture: 'qwen2', qkvBias: true, qkNorm: false }], // Qwen2, Qwen2.5(-Coder)
  // Fast-dLLM v2 block-diffusion checkpoints: Qwen2.5 weights and layout, decoded by decode/blockDiffusion.ts.
  ['Fast_dLLM_QwenForCausalLM', { architecture: 'qwen2', qkvBias: true, qkNorm: false }],
  ['Qwen3ForCausalLM', { architecture: 'qwen3', qkvBias: false, qkNorm: true }],
]);

export function supportedHfArchitectures(): string[] {
  return [...supportedArchitectures.keys()];
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a required positive integer field. */
function positiveInt(json: Json, key: string, file: string): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ModelImportError(file, `"${key}" must be a positive integer (got ${JSON.stringify(value)})`);
  }
  return value;
}

function optionalNumber(json: Json, key: string, file: string): number | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ModelImportError(file, `"${key}" must be a number (got ${JSON.stringify(value)})`);
  }
  return value;
}

function tokenIds(value: unknown): number[] {
  if (typeof value === 'number' && Number.isInteger(value)) return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
  return [];
}

/** rope_theta moved under rope_parameters in newer transformers releases; accept both places. */
function ropeTheta(json: Json, file: string): number {
  const nested = isRecord(json.rope_parameters) ? optionalNumber(json.rope_parameters, 'rope_theta', file) : undefined;
  const theta = optionalNumber(json, 'rope_theta', file) ?? nested ?? 10000;
  const scaling = json.rope_scaling ?? (isRecord(json.rope_parameters) ? json.rope_parameters : undefined);
  if (isRecord(scaling)) {
    const type = scaling.rope_type ?? scaling.type;
    if (type !== undefined && type !== 'default') {
      throw new ModelImportError(file, `RoPE scaling type "${String(type)}" is not supported (only default RoPE)`);
    }
  }
  return theta;
}

/**
 * Converts a parsed config.json into a ModelConfig. `file` is used in error messages.
 * Throws ModelImportError for unsupported architectures or missing/invalid fields.
 */
export function hfConfigToModelConfig(json: unknown, file: string): ModelConfig {
  if (!isRecord(json)) throw new ModelImportError(file, 'is not a JSON object');
  const architectures = json.architectures;
  const sourceArchitecture = Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : undefined;
  if (!sourceArchitecture) {
    throw new ModelImportError(file, `has no "architectures" entry (supported: ${supportedHfArchitectures().join(', ')})`);
  }
  const spec = supportedArchitectures.get(sourceArchitecture);
  if (!spec) {
    throw new ModelImportError(
      file,
      `architecture ${sourceArchitecture} is not supported (supported: ${supportedHfArchitectures().join(', ')})`,
    );
  }
  const hiddenSize = positiveInt(json, 'hidden_size', file);
  const numHeads = positiveInt(json, 'num_attention_heads', file);
  const numKvHeads = json.num_key_value_heads === undefined ? numHeads : positiveInt(json, 'num_key_value_heads', file);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelImportError(file, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  // Qwen3 states head_dim explicitly (it is not hidden/heads there); others derive it.
  let headDim: number;
  if (json.head_dim !== undefined && json.head_dim !== null) headDim = positiveInt(json, 'head_dim', file);
  else if (hiddenSize % numHeads === 0) headDim = hiddenSize / numHeads;
  else throw new ModelImportError(file, `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  if (headDim % 2 !== 0) throw new ModelImportError(file, `head dimension ${headDim} must be even for RoPE`);

  const act = json.hidden_act;
  if (act !== undefined && act !== 'silu') throw new ModelImportError(file, `hidden_act "${String(act)}" is not supported (only silu)`);
  if (json.attention_bias === true && spec.architecture === 'llama') {
    throw new ModelImportError(file, 'attention_bias true is not supported for LlamaForCausalLM');
  }
  if (json.mlp_bias === true) throw new ModelImportError(file, 'mlp_bias true is not supported');

  const bos = tokenIds(json.bos_token_id);
  return {
    architecture: spec.architecture,
    sourceArchitecture,
    vocabSize: positiveInt(json, 'vocab_size', file),
    hiddenSize,
    intermediateSize: positiveInt(json, 'intermediate_size', file),
    numLayers: positiveInt(json, 'num_hidden_layers', file),
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta: ropeTheta(json, file),
    rmsNormEps: optionalNumber(json, 'rms_norm_eps', file) ?? 1e-6,
    maxPositions: json.max_position_embeddings === undefined ? 2048 : positiveInt(json, 'max_position_embeddings', file),
    // LlamaConfig, Qwen2Config and Qwen3Config all default tie_word_embeddings to false when the field is absent.
    tieWordEmbeddings: json.tie_word_embeddings === true,
    qkvBias: spec.qkvBias,
    qkNorm: spec.qkNorm,
    bosTokenId: bos[0],
    eosTokenIds: tokenIds(json.eos_token_id),
  };
}

/** Extra end-of-sequence ids from generation_config.json (instruct models list <|im_end|> and <|endoftext|> there). */
export function generationConfigEosIds(json: unknown): number[] {
  return isRecord(json) ? tokenIds(json.eos_token_id) : [];
}
