// A plain TypeScript forward pass (in the manner of llama2.c's run.c): the parity oracle for the ONNX graphs.
// Same contract as the graph: K/V caches are token-major [past, kvHeads, headDim] per layer with keys post-RoPE,
// the mask is additive over [past + q] columns, and only the new tokens' K/V are returned.
// Slow by design (plain loops); use it on tiny models.

import { layerPrefix, type ModelConfig, type WeightTensor, type Weights } from '../model/config';
import { causalMask } from '../graph/contract';

// Re-exported: the parity tests build the graph's default mask from here.
export { causalMask };
import { ropeInverseFrequencies } from '../graph/rope';

export interface ReferencePast {
  /** Per layer: [length, kvHeads, headDim], keys post-RoPE. */
  keys: Float32Array[];
  values: Float32Array[];
  length: number;
}

export interface ReferenceInputs {
  tokens: number[];
  /** RoPE position of each token. */
  positions: number[];
  past?: ReferencePast;
  /** Additive mask [q, past + q]; default: every past slot plus causal over the new tokens. */
  mask?: Float32Array;
  /** Weight of each query row for attention mass; omit to skip it. */
  attentionRows?: Float32Array;
  /**
   * Sees each layer's post-RoPE queries [q, heads, hd] and the K/V it attends over [past + q, kvHeads, hd]
   * (analysis such as the Fourier calibration; the arrays must not be modified).
   */
  onAttention?: (layer: number, queries: Float32Array, keys: Float32Array, values: Float32Array) => void;
}

export interface ReferenceOutputs {
  /** [q, vocab] */
  logits: Float32Array;
  /** Per layer [q, kvHeads, headDim], keys post-RoPE. */
  newKeys: Float32Array[];
  newValues: Float32Array[];
  /** Per layer [past + q]: Σ_rows attentionRows[r] Σ_heads prob[h, r, col]. */
  attentionMass?: Float32Array[];
}

/** out[rows, outF] = x[rows, inF] · W^T (+ bias), W in HF [out, in] layout. */
function linear(x: Float32Array, rows: number, w: WeightTensor, bias?: WeightTensor): Float32Array {
  const [outF, inF] = w.shape;
  const out = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let sum = 0;
      const wOffset = o * inF;
      const xOffset = r * inF;
      for (let k = 0; k < inF; k++) sum += x[xOffset + k] * w.data[wOffset + k];
      out[r * outF + o] = sum + (bias ? bias.data[o] : 0);
    }
  }
  return out;
}

/** RMSNorm over consecutive groups of `size` values (the hidden state, or one head for Qwen3's q/k norm). */
function rmsnorm(x: Float32Array, size: number, w: WeightTensor, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += size) {
    let ss = 0;
    for (let j = 0; j < size; j++) ss += x[start + j] * x[start + j];
    const inv = 1 / Math.sqrt(ss / size + eps);
    for (let j = 0; j < size; j++) out[start + j] = x[start + j] * inv * w.data[j];
  }
  return out;
}

/** Rotate-half RoPE in place on [rows, heads, headDim]. */
function rope(x: Float32Array, positions: number[], heads: number, headDim: number, invFreq: Float32Array): void {
  const half = headDim / 2;
  for (let r = 0; r < positions.length; r++) {
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(positions[r] * invFreq[i]); // fp32 angle, as the graph computes it
        const cos = Math.cos(angle);
        const sin = Math.sin(angle);
        const x1 = x[base + i];
        const x2 = x[base + half + i];
        x[base + i] = x1 * cos - x2 * sin;
        x[base + half + i] = x2 * cos + x1 * sin;
      }
    }
  }
}

export function referenceForward(config: ModelConfig, weights: Weights, inputs: ReferenceInputs): ReferenceOutputs {
  const { hiddenSize: dim, numHeads, numKvHeads: kvHeads, headDim, vocabSize, rmsNormEps: eps } = config;
  const get = (name: string): WeightTensor => {
    const w = weights.get(name);
    if (!w) throw new Error(`referenceForward: missing weight ${name}`);
    return w;
  };
  const q = inputs.tokens.length;
  if (inputs.positions.length !== q) throw new Error(`referenceForward: ${q} tokens but ${inputs.positions.length} positions`);
  const pastLength = inputs.past?.length ?? 0;
  const total = pastLength + q;
  const mask = inputs.mask ?? causalMask(pastLength, q);
  if (mask.length !== q * total) throw new Error(`referenceForward: mask has ${mask.length} values, expected ${q}x${total}`);
  const kvDim = kvHeads * headDim;
  const group = numHeads / kvHeads;
  const invFreq = ropeInverseFrequencies(headDim, config.ropeTheta);

  // token embedding: x (q, dim)
  const embed = get('model.embed_tokens.weight');
  let x = new Float32Array(q * dim);
  inputs.tokens.forEach((token, r) => {
    if (token < 0 || token >= vocabSize) throw new Error(`referenceForward: token ${token} outside vocab ${vocabSize}`);
    x.set(embed.data.subarray(token * dim, (token + 1) * dim), r * dim);
  });

  const newKeys: Float32Array[] = [];
  const newValues: Float32Array[] = [];
  const attentionMass: Float32Array[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = layerPrefix(l);
    const bias = (which: string) => (config.qkvBias ? get(`${p}.self_attn.${which}_proj.bias`) : undefined);

    // attention rmsnorm
    const xb = rmsnorm(x, dim, get(`${p}.input_layernorm.weight`), eps);

    // qkv projections: q (q, heads, hd), k/v (q, kvHeads, hd)
    let qs = linear(xb, q, get(`${p}.self_attn.q_proj.weight`), bias('q'));
    let ks = linear(xb, q, get(`${p}.self_attn.k_proj.weight`), bias('k'));
    const vs = linear(xb, q, get(`${p}.self_attn.v_proj.weight`), bias('v'));

    // Qwen3: per-head q/k rmsnorm before RoPE
    if (config.qkNorm) {
      qs = rmsnorm(qs, headDim, get(`${p}.self_attn.q_norm.weight`), eps);
      ks = rmsnorm(ks, headDim, get(`${p}.self_attn.k_norm.weight`), eps);
    }

    // RoPE on q and k
    rope(qs, inputs.positions, numHeads, headDim, invFreq);
    rope(ks, inputs.positions, kvHeads, headDim, invFreq);
    newKeys.push(ks);
    newValues.push(vs);

    // keys/values over [past ‖ new]: (total, kvHeads, hd)
    const keys = new Float32Array(total * kvDim);
    const values = new Float32Array(total * kvDim);
    if (inputs.past && pastLength) {
      keys.set(inputs.past.keys[l].subarray(0, pastLength * kvDim));
      values.set(inputs.past.values[l].subarray(0, pastLength * kvDim));
    }
    keys.set(ks, pastLength * kvDim);
    values.set(vs, pastLength * kvDim);
    inputs.onAttention?.(l, qs, keys, values);

    // multi-head attention: softmax(q·k/√hd + mask)·v per head; query head h reads kv head h / group
    const context = new Float32Array(q * numHeads * headDim);
    const mass = inputs.attentionRows ? new Float32Array(total) : undefined;
    const scale = 1 / Math.sqrt(headDim);
    const scores = new Float32Array(total);
    for (let h = 0; h < numHeads; h++) {
      const kvh = Math.floor(h / group);
      for (let r = 0; r < q; r++) {
        const qOffset = (r * numHeads + h) * headDim;
        let max = -Infinity;
        for (let c = 0; c < total; c++) {
          const kOffset = (c * kvHeads + kvh) * headDim;
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += qs[qOffset + i] * keys[kOffset + i];
          scores[c] = dot * scale + mask[r * total + c];
          max = Math.max(max, scores[c]);
        }
        let sum = 0;
        for (let c = 0; c < total; c++) {
          scores[c] = Math.exp(scores[c] - max);
          sum += scores[c];
        }
        for (let c = 0; c < total; c++) {
          const prob = scores[c] / sum;
          if (mass && inputs.attentionRows) mass[c] += inputs.attentionRows[r] * prob;
          const vOffset = (c * kvHeads + kvh) * headDim;
          for (let i = 0; i < headDim; i++) context[qOffset + i] += prob * values[vOffset + i];
        }
      }
    }
    if (mass) attentionMass.push(mass);

    // output projection and residual
    const attnOut = linear(context, q, get(`${p}.self_attn.o_proj.weight`));
    for (let i = 0; i < x.length; i++) x[i] += attnOut[i];

    // ffn rmsnorm, SwiGLU: down(silu(gate(x)) * up(x)), residual
    const xb2 = rmsnorm(x, dim, get(`${p}.post_attention_layernorm.weight`), eps);
    const gate = linear(xb2, q, get(`${p}.mlp.gate_proj.weight`));
    const up = linear(xb2, q, get(`${p}.mlp.up_proj.weight`));
    for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
    const down = linear(gate, q, get(`${p}.mlp.down_proj.weight`));
    const next = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) next[i] = x[i] + down[i];
    x = next;
  }

  // final rmsnorm and classifier (tied: the embedding table)
  const xf = rmsnorm(x, dim, get('model.norm.weight'), eps);
  const head = config.tieWordEmbeddings ? embed : get('lm_head.weight');
  const logits = linear(xf, q, head);
  return { logits, newKeys, newValues, attentionMass: inputs.attentionRows ? attentionMass : undefined };
}
