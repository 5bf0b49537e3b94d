// The tensors a ModelConfig requires, with their Hugging Face names and shapes. Import checks checkpoints against
// this list; anything that fabricates weights (tests, random-weight benchmarks) can build from it too.
import { layerPrefix, type ModelConfig } from './config';

/** Every required tensor name → shape, in a stable order (embeddings, layers, final norm, lm_head). */
export function expectedWeightShapes(config: ModelConfig): Map<string, number[]> {
  const { hiddenSize: hidden, intermediateSize: inter, headDim, numHeads, numKvHeads, vocabSize } = config;
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [vocabSize, hidden]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = layerPrefix(i);
    shapes.set(`${p}.input_layernorm.weight`, [hidden]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [numHeads * headDim, hidden]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [numKvHeads * headDim, hidden]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [numKvHeads * headDim, hidden]);
    if (config.qkvBias) {
      shapes.set(`${p}.self_attn.q_proj.bias`, [numHeads * headDim]);
      shapes.set(`${p}.self_attn.k_proj.bias`, [numKvHeads * headDim]);
      shapes.set(`${p}.self_attn.v_proj.bias`, [numKvHeads * headDim]);
    }
    if (config.qkNorm) {
      shapes.set(`${p}.self_attn.q_norm.weight`, [headDim]);
      shapes.set(`${p}.self_attn.k_norm.weight`, [headDim]);
    }
    shapes.set(`${p}.self_attn.o_proj.weight`, [hidden, numHeads * headDim]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [hidden]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [inter, hidden]);
    shapes.set(`${p}.mlp.up_proj.weight`, [inter, hidden]);
    shapes.set(`${p}.mlp.down_proj.weight`, [hidden, inter]);
  }
  shapes.set('model.norm.weight', [hidden]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [vocabSize, hidden]);
  return shapes;
}

/** Bytes of the model's weights in fp32 (every required tensor, 4 bytes per value). */
export function fp32WeightBytes(config: ModelConfig): number {
  let bytes = 0;
  for (const shape of expectedWeightShapes(config).values()) bytes += 4 * shape.reduce((a, b) => a * b, 1);
  return bytes;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
