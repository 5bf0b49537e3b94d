// Parity with an independent ONNX export (onnxruntime-genai's builder, fp16, com.microsoft attention ops) of
// hf-internal-testing/tiny-random-LlamaForCausalLM, kept in ../shared. Skips when ../shared is absent.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { compareWithOrtGenai, importOrtGenaiModel, runOrtGenaiParity } from '../server/src/graph/ortgenaiImport';

const projectRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(projectRoot, '..', 'shared');
const modelDir = path.join(sharedDir, 'models', 'tiny-random-llama-ortgenai');
const absent = fs.existsSync(path.join(modelDir, 'model.onnx')) ? null : `../shared absent: ${modelDir} not found`;

describe('onnxruntime-genai export parity', () => {
  test('import maps genai initializers to our config and HF-named weights', (t) => {
    if (absent) return t.skip(absent);
    const { config, weights } = importOrtGenaiModel(modelDir);
    assert.equal(config.numLayers, 2);
    assert.equal(config.hiddenSize, 16);
    assert.equal(config.vocabSize, 32000);
    assert.equal(config.headDim, 16);
    assert.equal(config.tieWordEmbeddings, false);
    assert.ok(config.rmsNormEps > 0 && config.rmsNormEps < 1e-4, `epsilon ${config.rmsNormEps}`);
    assert.deepEqual(weights.get('lm_head.weight')?.shape, [32000, 16]);
    assert.deepEqual(weights.get('model.layers.1.mlp.down_proj.weight')?.shape, [16, config.intermediateSize]);
    assert.deepEqual(weights.get('model.layers.0.mlp.gate_proj.weight')?.shape, [config.intermediateSize, 16]);
  });

  test('our graph from their weights matches their graph: prefill + 2 decode steps', async (t) => {
    if (absent) return t.skip(absent);
    const result = await runOrtGenaiParity(modelDir);
    assert.ok(result.maxAbsLogit > 0.05, `logits too small to compare (${result.maxAbsLogit})`);
    assert.ok(result.pass, `max |diff| ${result.maxAbsDiff} > tolerance ${result.tolerance}`);
  });

  test('the comparison fails when a weight layout is wrong (negative control)', async (t) => {
    if (absent) return t.skip(absent);
    const imported = importOrtGenaiModel(modelDir);
    const oProj = imported.weights.get('model.layers.1.self_attn.o_proj.weight');
    assert.ok(oProj);
    const [rows, cols] = oProj.shape;
    const original = oProj.data.slice();
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) oProj.data[r * cols + c] = original[c * rows + r];
    const result = await compareWithOrtGenai(imported);
    assert.equal(result.pass, false, `transposed o_proj still passed (diff ${result.maxAbsDiff})`);
  });

  test('the comparison fails with the wrong RoPE theta (negative control)', async (t) => {
    if (absent) return t.skip(absent);
    const imported = importOrtGenaiModel(modelDir);
    imported.config.ropeTheta = 500000;
    assert.equal((await compareWithOrtGenai(imported)).pass, false);
  });
});
