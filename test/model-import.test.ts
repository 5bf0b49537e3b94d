// Model import: safetensors I/O, config mapping, tiny HF folders of each architecture, llama2.c checkpoints,
// and the error messages for bad input.
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ModelConfig, Weights } from '../server/src/model/config';
import { float32ToBf16Bits, float32ToFp16Bits, widenBf16, widenFp16 } from '../server/src/model/halfFloat';
import { hfConfigToModelConfig } from '../server/src/model/hfConfig';
import { ModelImportError, loadModel, validateTokenIds, type LoadedModel } from '../server/src/model/import';
import { permuteRotaryRows, unpermuteRotaryRows } from '../server/src/model/llama2c';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type SafetensorsDtype } from '../server/src/model/safetensors';
import { expectedWeightShapes } from '../server/src/model/weightShapes';
import { KNOWN_MODELS, ModelPullError, pullModel, sha256FromEtag, type PullProgress } from '../server/src/model/pull';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const projectRoot = path.resolve(__dirname, '..');
const sharedDir = path.resolve(projectRoot, '..', 'shared');
const storiesDir = path.join(sharedDir, 'models', 'stories260K');

let tempRoot = '';
let folderCounter = 0;
before(async () => {
  tempRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'repopot-model-import-'));
});
after(async () => {
  await fsp.rm(tempRoot, { recursive: true, force: true });
});
async function newFolder(): Promise<string> {
  const dir = path.join(tempRoot, `m${folderCounter++}`);
  await fsp.mkdir(dir);
  return dir;
}

/** Deterministic pseudo-random values (mulberry32) so failures reproduce. */
function randomArray(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 0.2;
  }
  return out;
}

function randomWeightsFor(config: ModelConfig, seed = 1): Weights {
  const weights: Weights = new Map();
  let s = seed;
  for (const [name, shape] of expectedWeightShapes(config)) {
    weights.set(name, { shape, data: randomArray(shape.reduce((a, b) => a * b, 1), s++) });
  }
  return weights;
}

/** GPT-2's byte → printable-unicode table, used by byte-level BPE vocabularies. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return table;
}

/** A 256-byte vocabulary + one merge + 2 special tokens: a real byte-level BPE tokenizer.json, tiny. */
function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, id) => (vocab[ch] = id));
  vocab['ab'] = 256;
  return {
    version: '1.0',
    added_tokens: [
      { id: 257, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 258, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['a b'] },
  };
}
const TINY_TOKENIZER_VOCAB = 259;

type ArchName = 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM';

function tinyConfigJson(arch: ArchName, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    architectures: [arch],
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    hidden_act: 'silu',
    max_position_embeddings: 128,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    vocab_size: 260,
    bos_token_id: 257,
    eos_token_id: 258,
  };
  if (arch === 'Qwen3ForCausalLM') {
    // Qwen3 states head_dim explicitly (here ≠ hidden/heads) and newer configs nest rope_theta.
    base.head_dim = 8;
    delete base.rope_theta;
    base.rope_parameters = { rope_theta: 1000000, rope_type: 'default' };
  }
  return { ...base, ...overrides };
}

interface TinyFolder {
  dir: string;
  config: ModelConfig;
  weights: Weights;
}

/** Writes a complete tiny HF model folder; `shards` > 1 splits the tensors over model-0000k-of-0000n files. */
async function writeTinyHfFolder(
  arch: ArchName,
  options: { dtype?: SafetensorsDtype; shards?: number; config?: Record<string, unknown>; seed?: number } = {},
): Promise<TinyFolder> {
  const dir = await newFolder();
  const configJson = tinyConfigJson(arch, options.config);
  await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify(configJson));
  const config = hfConfigToModelConfig(configJson, 'config.json');
  const weights = randomWeightsFor(config, options.seed);
  const shards = options.shards ?? 1;
  const dtype = options.dtype ?? 'F32';
  if (shards === 1) {
    await writeSafetensors(path.join(dir, 'model.safetensors'), weights, dtype);
  } else {
    const names = [...weights.keys()];
    const weightMap: Record<string, string> = {};
    for (let k = 0; k < shards; k++) {
      const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part: Weights = new Map();
      for (const name of names.filter((_, i) => i % shards === k)) {
        part.set(name, weights.get(name)!);
        weightMap[name] = file;
      }
      await writeSafetensors(path.join(dir, file), part, dtype);
    }
    await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  await fsp.writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  await fsp.writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', add_bos_token: true }));
  return { dir, config, weights };
}

/** Values as they come back after a round trip through `dtype`. */
function roundTripped(data: Float32Array, dtype: SafetensorsDtype): Float32Array {
  if (dtype === 'F32') return data;
  const bits = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) bits[i] = dtype === 'F16' ? float32ToFp16Bits(data[i]) : float32ToBf16Bits(data[i]);
  const out = new Float32Array(data.length);
  (dtype === 'F16' ? widenFp16 : widenBf16)(bits, out, 0);
  return out;
}

async function expectImportError(promise: Promise<unknown>, file: string | RegExp, problem: RegExp): Promise<ModelImportError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ModelImportError, `expected ModelImportError, got ${String(err)}`);
    if (typeof file === 'string') assert.equal(err.file, file);
    else assert.match(err.file, file);
    assert.match(err.message, problem);
    assert.ok(err.message.includes(err.file), 'message names the file');
    return err;
  }
  assert.fail('expected the load to fail');
}

describe('fp16 / bf16 conversion', () => {
  test('fp16 encodes exact values, rounds to nearest even, saturates and keeps subnormals', () => {
    assert.equal(float32ToFp16Bits(1), 0x3c00);
    assert.equal(float32ToFp16Bits(-2), 0xc000);
    assert.equal(float32ToFp16Bits(65504), 0x7bff);
    assert.equal(float32ToFp16Bits(1e6), 0x7c00);
    assert.equal(float32ToFp16Bits(2 ** -24), 0x0001);
    assert.equal(float32ToFp16Bits(1 + 2 ** -11), 0x3c00); // halfway: ties to even (down)
    assert.equal(float32ToFp16Bits(1 + 3 * 2 ** -11), 0x3c02); // halfway: ties to even (up)
    assert.ok(Number.isNaN(roundTripped(new Float32Array([NaN]), 'F16')[0]));
  });
  test('bf16 keeps the top 16 bits with rounding', () => {
    assert.equal(float32ToBf16Bits(1), 0x3f80);
    assert.equal(float32ToBf16Bits(-3.5), 0xc060);
    assert.deepEqual([...roundTripped(new Float32Array([1.00390625 + 1e-7]), 'BF16')], [1.0078125]);
  });
});

describe('safetensors', () => {
  test('round-trips F32 exactly and F16/BF16 within their precision; header holds metadata', async () => {
    const dir = await newFolder();
    const tensors: Weights = new Map([
      ['a', { shape: [3, 5], data: randomArray(15, 7) }],
      ['b.bias', { shape: [4], data: new Float32Array([0, -1.5, 1e-8, 300]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const file = path.join(dir, `t-${dtype}.safetensors`);
      await writeSafetensors(file, tensors, dtype, { format: 'pt' });
      const header = await readSafetensorsHeader(file);
      assert.equal(header.metadata.format, 'pt');
      assert.equal(header.dataStart % 8, 0, 'data is 8-byte aligned');
      assert.equal(header.entries.get('a')?.dtype, dtype);
      const back = await readSafetensors(file);
      for (const [name, t] of tensors) {
        assert.deepEqual(back.get(name)?.shape, t.shape);
        assert.deepEqual(back.get(name)?.data, roundTripped(t.data, dtype), `${dtype} ${name}`);
      }
      const tol = dtype === 'F32' ? 0 : dtype === 'F16' ? 1e-3 : 1e-2;
      back.get('a')!.data.forEach((v, i) => assert.ok(Math.abs(v - tensors.get('a')!.data[i]) <= tol));
    }
    const leftovers = (await fsp.readdir(dir)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'atomic write leaves no temp files');
  });

  test('truncated file → error naming the file and the tensor', async () => {
    const dir = await newFolder();
    const file = path.join(dir, 'x.safetensors');
    await writeSafetensors(file, new Map([['w', { shape: [64], data: randomArray(64, 1) }]]), 'F32');
    const { size } = await fsp.stat(file);
    await fsp.truncate(file, size - 10);
    await expectImportError(readSafetensors(file), file, /truncated: tensor "w"/);
    await fsp.truncate(file, 4);
    await expectImportError(readSafetensors(file), file, /truncated/);
  });

  test('unknown dtype → error naming the dtype and tensor', async () => {
    const dir = await newFolder();
    const file = path.join(dir, 'q.safetensors');
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'I4', shape: [4], data_offsets: [0, 2] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    await fsp.writeFile(file, Buffer.concat([prefix, header, Buffer.alloc(2)]));
    await expectImportError(readSafetensors(file), file, /tensor "w" has unsupported dtype I4/);
  });

  test('garbage is reported as not safetensors', async () => {
    const dir = await newFolder();
    const file = path.join(dir, 'g.safetensors');
    await fsp.writeFile(file, Buffer.from('this is not a safetensors file at all'));
    await expectImportError(readSafetensors(file), file, /not a safetensors file|truncated/);
  });
});

describe('config.json mapping', () => {
  test('real configs map to the right families', { skip: !existsSync(path.join(sharedDir, 'configs')) && 'needs ../shared/configs' }, async () => {
    const read = async (name: string) => {
      const file = path.join(sharedDir, 'configs', name);
      return hfConfigToModelConfig(JSON.parse(await fsp.readFile(file, 'utf8')), file);
    };
    const qwen25 = await read('qwen2.5-coder-0.5b.json');
    assert.equal(qwen25.architecture, 'qwen2');
    assert.equal(qwen25.qkvBias, true);
    assert.equal(qwen25.headDim, 64);
    assert.equal(qwen25.numKvHeads, 2);
    assert.equal(qwen25.ropeTheta, 1e6);
    const qwen3 = await read('qwen3-0.6b.json');
    assert.equal(qwen3.architecture, 'qwen3');
    assert.equal(qwen3.qkNorm, true);
    assert.equal(qwen3.qkvBias, false);
    assert.equal(qwen3.headDim, 128); // explicit, not 1024/16
    const smol = await read('smollm2-135m.json');
    assert.equal(smol.architecture, 'llama');
    assert.equal(smol.headDim, 64);
    assert.equal(smol.ropeTheta, 100000);
    assert.equal(smol.rmsNormEps, 1e-5);
    assert.equal(smol.tieWordEmbeddings, true);
    assert.deepEqual(smol.eosTokenIds, [2]);
  });

  test('rope_theta under rope_parameters only', () => {
    const json = tinyConfigJson('Qwen3ForCausalLM');
    assert.equal(json.rope_theta, undefined);
    assert.equal(hfConfigToModelConfig(json, 'c.json').ropeTheta, 1000000);
  });

  test('unsupported architecture lists the supported ones', () => {
    assert.throws(
      () => hfConfigToModelConfig({ ...tinyConfigJson('LlamaForCausalLM'), architectures: ['GPT2LMHeadModel'] }, '/x/config.json'),
      (err: unknown) =>
        err instanceof ModelImportError && err.file === '/x/config.json' &&
        /GPT2LMHeadModel is not supported \(supported: LlamaForCausalLM, Qwen2ForCausalLM, Fast_dLLM_QwenForCausalLM, Qwen3ForCausalLM\)/.test(err.message),
    );
  });
});

describe('loadModel: Hugging Face folders', () => {
  const cases: { arch: ArchName; dtype: SafetensorsDtype; shards: number; tied: boolean }[] = [
    { arch: 'LlamaForCausalLM', dtype: 'F32', shards: 1, tied: true },
    { arch: 'LlamaForCausalLM', dtype: 'BF16', shards: 1, tied: false },
    { arch: 'Qwen2ForCausalLM', dtype: 'BF16', shards: 2, tied: true },
    { arch: 'Qwen2ForCausalLM', dtype: 'F16', shards: 1, tied: false },
    { arch: 'Qwen3ForCausalLM', dtype: 'F16', shards: 3, tied: true },
    { arch: 'Qwen3ForCausalLM', dtype: 'F32', shards: 2, tied: false },
  ];
  for (const c of cases) {
    test(`${c.arch} ${c.dtype} ${c.shards} shard(s) ${c.tied ? 'tied' : 'untied'}`, async () => {
      const tiny = await writeTinyHfFolder(c.arch, { dtype: c.dtype, shards: c.shards, config: { tie_word_embeddings: c.tied } });
      const model = await loadModel(tiny.dir);
      assert.equal(model.format, 'hf');
      assert.deepEqual(model.config, tiny.config);
      assert.equal(model.config.tieWordEmbeddings, c.tied);
      assert.equal(model.weights.has('lm_head.weight'), !c.tied);
      assert.equal(model.weights.has('model.layers.1.self_attn.q_proj.bias'), c.arch === 'Qwen2ForCausalLM');
      assert.equal(model.weights.has('model.layers.1.self_attn.k_norm.weight'), c.arch === 'Qwen3ForCausalLM');
      assert.equal(model.weights.size, tiny.weights.size);
      for (const [name, t] of tiny.weights) {
        const loaded = model.weights.get(name);
        assert.ok(loaded, name);
        assert.deepEqual(loaded.shape, t.shape, name);
        assert.deepEqual(loaded.data, roundTripped(t.data, c.dtype), name);
      }
      assert.match(model.weightsHash, /^[0-9a-f]{64}$/);
      assert.equal(model.tokenizer.vocabSize, TINY_TOKENIZER_VOCAB);
      assert.equal(model.tokenizer.bosTokenId, 257);
      // BOS from add_bos_token, the 'a b' merge, then byte tokens for ' ' (32) and 'c' (99).
      assert.deepEqual(model.tokenizer.encode('ab c', { addSpecial: true }), [257, 256, 32, 99]);
      assert.equal(model.tokenizer.decode(model.tokenizer.encode('héllo\n  wörld')), 'héllo\n  wörld');
    });
  }

  test('Qwen3 head_dim and q/k norm shapes come through', async () => {
    const tiny = await writeTinyHfFolder('Qwen3ForCausalLM');
    const model = await loadModel(tiny.dir);
    assert.equal(model.config.headDim, 8);
    assert.deepEqual(model.weights.get('model.layers.0.self_attn.q_proj.weight')?.shape, [32, 16]);
    assert.deepEqual(model.weights.get('model.layers.0.self_attn.q_norm.weight')?.shape, [8]);
  });

  test('weightsHash is stable for identical content and changes with any weight', async () => {
    const a = await writeTinyHfFolder('LlamaForCausalLM', { seed: 5 });
    const b = await writeTinyHfFolder('LlamaForCausalLM', { seed: 5 });
    const c = await writeTinyHfFolder('LlamaForCausalLM', { seed: 6 });
    const [ha, hb, hc] = await Promise.all([a, b, c].map(async (f) => (await loadModel(f.dir)).weightsHash));
    assert.equal(ha, hb);
    assert.notEqual(ha, hc);
  });

  test('generation_config.json eos ids are merged', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    await fsp.writeFile(path.join(tiny.dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [258, 3] }));
    const model = await loadModel(tiny.dir);
    assert.deepEqual([...model.config.eosTokenIds].sort((x, y) => x - y), [3, 258]);
  });

  test('an aborted signal cancels the load', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(loadModel(tiny.dir, { signal: controller.signal }), (err: unknown) => !(err instanceof ModelImportError));
  });
});

describe('loadModel: bad input names the file and the problem', () => {
  test('missing folder', async () => {
    const dir = path.join(tempRoot, 'does-not-exist');
    await expectImportError(loadModel(dir), dir, /cannot be read/);
  });
  test('a file instead of a folder', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'config.json');
    await expectImportError(loadModel(file), file, /is not a folder/);
  });
  test('missing config.json', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    await fsp.rm(path.join(tiny.dir, 'config.json'));
    await expectImportError(loadModel(tiny.dir), tiny.dir, /expected config\.json/);
  });
  test('config.json that is not JSON', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'config.json');
    await fsp.writeFile(file, '{ "architectures": [');
    await expectImportError(loadModel(tiny.dir), file, /not valid JSON/);
  });
  test('unsupported architecture', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'config.json');
    await fsp.writeFile(file, JSON.stringify({ ...tinyConfigJson('LlamaForCausalLM'), architectures: ['MistralForCausalLM'] }));
    await expectImportError(loadModel(tiny.dir), file, /MistralForCausalLM is not supported \(supported: .*Qwen3ForCausalLM/);
  });
  test('no weights', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    await fsp.rm(path.join(tiny.dir, 'model.safetensors'));
    await expectImportError(loadModel(tiny.dir), tiny.dir, /no weights \(expected model\.safetensors/);
  });
  test('truncated safetensors', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'model.safetensors');
    await fsp.truncate(file, (await fsp.stat(file)).size - 100);
    await expectImportError(loadModel(tiny.dir), file, /truncated: tensor "model\.[\w.]+" ends at byte \d+ but the file has \d+ bytes/);
  });
  test('missing shard', async () => {
    const tiny = await writeTinyHfFolder('Qwen2ForCausalLM', { shards: 2 });
    const file = path.join(tiny.dir, 'model-00002-of-00002.safetensors');
    await fsp.rm(file);
    await expectImportError(loadModel(tiny.dir), file, /shard listed in model\.safetensors\.index\.json is missing/);
  });
  test('missing tensor', async () => {
    const tiny = await writeTinyHfFolder('Qwen2ForCausalLM');
    const file = path.join(tiny.dir, 'model.safetensors');
    const without = new Map(tiny.weights);
    without.delete('model.layers.1.self_attn.k_proj.bias');
    await writeSafetensors(file, without, 'F32');
    await expectImportError(loadModel(tiny.dir), file, /missing tensor "model\.layers\.1\.self_attn\.k_proj\.bias"/);
  });
  test('untied config without lm_head', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'config.json');
    await fsp.writeFile(file, JSON.stringify(tinyConfigJson('LlamaForCausalLM', { tie_word_embeddings: false })));
    await expectImportError(loadModel(tiny.dir), path.join(tiny.dir, 'model.safetensors'), /missing tensor "lm_head\.weight"/);
  });
  test('wrong tensor shape', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    const file = path.join(tiny.dir, 'model.safetensors');
    const changed = new Map(tiny.weights);
    changed.set('model.layers.0.mlp.up_proj.weight', { shape: [16, 24], data: randomArray(16 * 24, 3) });
    await writeSafetensors(file, changed, 'F32');
    await expectImportError(loadModel(tiny.dir), file, /"model\.layers\.0\.mlp\.up_proj\.weight" has shape \[16,24\] but config\.json implies \[24,16\]/);
  });
  test('tokenizer larger than the model vocabulary', async () => {
    // Model vocab 200 < tokenizer's 259: embeddings would be indexed out of range.
    const tiny = await writeTinyHfFolder('LlamaForCausalLM', { config: { vocab_size: 200 } });
    const err = await expectImportError(loadModel(tiny.dir), path.join(tiny.dir, 'tokenizer.json'), /tokenizer has 259 tokens but the model/);
    assert.ok(err.message.includes(path.join(tiny.dir, 'config.json')), 'names config.json too');
  });
  test('no tokenizer', async () => {
    const tiny = await writeTinyHfFolder('LlamaForCausalLM');
    await fsp.rm(path.join(tiny.dir, 'tokenizer.json'));
    await expectImportError(loadModel(tiny.dir), tiny.dir, /no tokenizer/);
  });
  test('llama2.c checkpoint without tokenizer', async () => {
    const dir = await newFolder();
    await fsp.writeFile(path.join(dir, 'model.bin'), Buffer.alloc(28));
    await expectImportError(loadModel(dir), dir, /no tokenizer \(expected tokenizer\.bin or tok\*\.bin\)/);
  });
});

describe('validateTokenIds', () => {
  test('accepts in-range ids and names the bad one', () => {
    validateTokenIds([0, 5, 9], 10);
    assert.throws(() => validateTokenIds([0, 10], 10), /token id 10 at position 1 is outside the model's vocabulary \(0\.\.9\)/);
    assert.throws(() => validateTokenIds([-1], 10), /token id -1/);
    assert.throws(() => validateTokenIds([1.5], 10), /token id 1\.5/);
  });
});

describe('llama2.c checkpoints', () => {
  test('rotary row permutation: known pattern, and unpermute inverts it', () => {
    // 2 heads of head_dim 4, in_dim 1: interleaved pairs (0,1),(2,3) become halves [0,2 | 1,3] per head.
    const rows = new Float32Array([0, 1, 2, 3, 10, 11, 12, 13]);
    assert.deepEqual([...permuteRotaryRows(rows, 2, 4, 1)], [0, 2, 1, 3, 10, 12, 11, 13]);
    const w = randomArray(3 * 8 * 5, 9);
    assert.deepEqual(unpermuteRotaryRows(permuteRotaryRows(w, 3, 8, 5), 3, 8, 5), w);
    assert.notDeepEqual(permuteRotaryRows(w, 3, 8, 5), w);
  });

  /** Writes a llama2.c checkpoint + tokenizer from raw (llama2.c-layout) arrays. */
  async function writeLlama2c(dir: string, dims: { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number }, untied: boolean) {
    const { dim, hidden, layers, heads, kvHeads, vocab, seqLen } = dims;
    const headDim = dim / heads;
    const kvDim = kvHeads * headDim;
    const header = Buffer.alloc(28);
    [dim, hidden, layers, heads, kvHeads, untied ? -vocab : vocab, seqLen].forEach((v, i) => header.writeInt32LE(v, i * 4));
    const parts = [
      vocab * dim, layers * dim, layers * dim * dim, layers * kvDim * dim, layers * kvDim * dim, layers * dim * dim,
      layers * dim, layers * hidden * dim, layers * dim * hidden, layers * hidden * dim, dim, seqLen * headDim, ...(untied ? [vocab * dim] : []),
    ].map((n, i) => randomArray(n, 100 + i));
    await fsp.writeFile(path.join(dir, 'model.bin'), Buffer.concat([header, ...parts.map((p) => Buffer.from(p.buffer))]));
    // Tokenizer: <unk>, <s>, </s>, 256 byte tokens, then ' ' and a few letters.
    const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), ' ', 'a', 'b'];
    const chunks: Buffer[] = [Buffer.from(new Int32Array([8]).buffer)];
    pieces.slice(0, vocab).forEach((p, i) => {
      const b = Buffer.alloc(8);
      b.writeFloatLE(-i, 0);
      b.writeInt32LE(Buffer.byteLength(p), 4);
      chunks.push(b, Buffer.from(p));
    });
    await fsp.writeFile(path.join(dir, 'tokenizer.bin'), Buffer.concat(chunks));
    return parts;
  }

  test('synthetic untied checkpoint: layout, names and permutation', async () => {
    const dir = await newFolder();
    const dims = { dim: 8, hidden: 12, layers: 2, heads: 2, kvHeads: 1, vocab: 262, seqLen: 16 };
    const parts = await writeLlama2c(dir, dims, true);
    const model = await loadModel(dir);
    assert.equal(model.format, 'llama2c');
    assert.equal(model.config.tieWordEmbeddings, false);
    assert.equal(model.config.numKvHeads, 1);
    assert.deepEqual(model.weights.get('lm_head.weight')?.data, parts[12]);
    assert.deepEqual(model.weights.get('model.norm.weight')?.data, parts[10]);
    // Layer 1's w2 (down_proj, [dim, hidden]) is the second slice of the stacked tensor.
    assert.deepEqual(model.weights.get('model.layers.1.mlp.down_proj.weight')?.data, parts[8].subarray(8 * 12, 2 * 8 * 12));
    const wk1 = parts[3].subarray(4 * 8, 2 * 4 * 8);
    assert.deepEqual(model.weights.get('model.layers.1.self_attn.k_proj.weight')?.data, permuteRotaryRows(wk1, 1, 4, 8));
    assert.deepEqual(model.weights.get('model.layers.0.self_attn.q_proj.weight')?.data, permuteRotaryRows(parts[2].subarray(0, 64), 2, 4, 8));
    assert.equal(model.weights.size, expectedWeightShapes(model.config).size);
    for (const [name, shape] of expectedWeightShapes(model.config)) assert.deepEqual(model.weights.get(name)?.shape, shape, name);
  });

  test('truncated checkpoint → error naming the file', async () => {
    const dir = await newFolder();
    await writeLlama2c(dir, { dim: 8, hidden: 12, layers: 1, heads: 2, kvHeads: 2, vocab: 262, seqLen: 4 }, false);
    const file = path.join(dir, 'model.bin');
    await fsp.truncate(file, (await fsp.stat(file)).size - 4);
    await expectImportError(loadModel(dir), file, /truncated: the header implies \d+ bytes/);
  });

  test('tokenizer with fewer tokens than the model → error naming the tokenizer', async () => {
    const dir = await newFolder();
    await writeLlama2c(dir, { dim: 8, hidden: 12, layers: 1, heads: 2, kvHeads: 2, vocab: 262, seqLen: 4 }, false);
    const header = Buffer.alloc(28);
    const file = path.join(dir, 'model.bin');
    const bytes = await fsp.readFile(file);
    bytes.copy(header, 0, 0, 28);
    // Claim a 300-token vocabulary and pad the embeddings so the checkpoint itself stays consistent.
    header.writeInt32LE(300, 20);
    await fsp.writeFile(file, Buffer.concat([header, Buffer.alloc(38 * 8 * 4), bytes.subarray(28)]));
    await expectImportError(loadModel(dir), path.join(dir, 'tokenizer.bin'), /holds 262 tokens but the model needs 300/);
  });

  describe('stories260K', { skip: !existsSync(storiesDir) && `needs ${storiesDir}` }, () => {
    let model: LoadedModel;
    before(async () => {
      model = await loadModel(storiesDir);
    });

    test('config from the header', () => {
      const c = model.config;
      assert.deepEqual(
        [c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize, c.maxPositions],
        [64, 172, 5, 8, 4, 8, 512, 512],
      );
      assert.equal(c.tieWordEmbeddings, true);
      assert.equal(c.ropeTheta, 10000);
      assert.equal(c.rmsNormEps, 1e-5);
      assert.equal(c.bosTokenId, 1);
      assert.deepEqual(c.eosTokenIds, [2]);
      assert.equal(model.tokenizer.vocabSize, 512);
      assert.equal(model.weights.get('model.layers.4.mlp.down_proj.weight')?.shape.join('x'), '64x172');
    });

    test('tokenizer round-trips with BOS', () => {
      const text = 'Once upon a time, there was a little girl named Lily.';
      const ids = model.tokenizer.encode(text, { addSpecial: true });
      assert.equal(ids[0], 1);
      assert.equal(ids.filter((id) => id === 1).length, 1);
      assert.ok(ids.length < text.length / 2, 'merges happened');
      assert.equal(model.tokenizer.decode(ids), text);
      // tok512's BOS piece is "\n<s>\n"; kept verbatim (as run.c prints it) when special tokens are not skipped.
      assert.equal(model.tokenizer.decode(ids, { skipSpecial: false }), `\n<s>\n${text}`);
      assert.deepEqual(model.tokenizer.encode(text), ids.slice(1));
    });

    test('greedy decoding from BOS through a plain forward pass tells the TinyStories opening', () => {
      // Exercises every converted tensor, including RoPE at positions > 0 (which needs the wq/wk permutation).
      const generated = greedyGenerate(model, [1], 14);
      const text = model.tokenizer.decode([1, ...generated]);
      assert.match(text, /^Once upon a time, there was a little girl named Lily/);
    });
  });
});

describe('model pull (local Hub stand-in on 127.0.0.1)', () => {
  const modelName = 'smollm2-135m-instruct';
  const repo = KNOWN_MODELS[modelName].repo;
  const files = new Map<string, Buffer>(
    KNOWN_MODELS[modelName].files.map((f, i) => [f, Buffer.from(randomArray(f === 'model.safetensors' ? 50_000 : 50 + i, 40 + i).buffer)]),
  );
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  /** Test knobs: wrong checksum for a file, cut the next GET of a file halfway, and what Range headers arrived. */
  const state = { wrongSha: new Set<string>(), interruptNext: new Set<string>(), ranges: [] as string[], gets: 0, sharded: false, stallNext: new Set<string>() };
  /** Served instead of model.safetensors when state.sharded: an index and two shards. */
  const shardFiles = new Map<string, Buffer>([
    ['model.safetensors.index.json', Buffer.from(JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }))],
    ['model-00001-of-00002.safetensors', Buffer.from('shard one')],
    ['model-00002-of-00002.safetensors', Buffer.from('shard two')],
  ]);
  const served = (file: string): Buffer | undefined =>
    state.sharded ? (file === 'model.safetensors' ? undefined : files.get(file) ?? shardFiles.get(file)) : files.get(file);
  let server: http.Server;
  let baseUrl = '';

  before(async () => {
    // Mimics the Hub: /REPO/resolve/main/FILE answers 302 to a CDN path with x-linked-etag/size; the CDN serves ranges.
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      const resolvePrefix = `/${repo}/resolve/main/`;
      if (url.startsWith(resolvePrefix)) {
        const file = url.slice(resolvePrefix.length);
        const body = served(file);
        if (!body) return void res.writeHead(404).end();
        const etag = state.wrongSha.has(file) ? sha(Buffer.from('other')) : sha(body);
        res.writeHead(302, { location: `/cdn/${file}`, 'x-linked-etag': `"${etag}"`, 'x-linked-size': String(body.length) }).end();
        return;
      }
      const file = url.replace(/^\/cdn\//, '');
      const body = served(file);
      if (!body || req.method !== 'GET') return void res.writeHead(404).end();
      state.gets++;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (req.headers.range) state.ranges.push(`${file} ${req.headers.range}`);
      const start = range ? Number(range[1]) : 0;
      if (start >= body.length) return void res.writeHead(416).end();
      res.writeHead(range ? 206 : 200, {
        'content-length': String(body.length - start),
        ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      if (state.stallNext.delete(file)) {
        res.write(body.subarray(start, start + 1000)); // then silence, connection left open
        return;
      }
      if (state.interruptNext.delete(file)) {
        res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)), () => res.socket?.destroy());
        return;
      }
      res.end(body.subarray(start));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('downloads every file with progress, then skips what is present', async () => {
    const root = await newFolder();
    const progress: PullProgress[] = [];
    const dir = await pullModel(modelName, root, { baseUrl, onProgress: (p) => progress.push(p) });
    assert.equal(dir, path.join(root, modelName));
    for (const [file, body] of files) assert.deepEqual(await fsp.readFile(path.join(dir, file)), body, file);
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1);
    assert.deepEqual(last && [last.bytesDone, last.bytesTotal], [200_000, 200_000]);
    assert.deepEqual((await fsp.readdir(dir)).filter((f) => f.endsWith('.part')), []);
    const getsBefore = state.gets;
    await pullModel(modelName, root, { baseUrl });
    assert.equal(state.gets, getsBefore, 'nothing re-downloaded');
  });

  test('an interrupted transfer resumes with a Range request and verifies the whole file', async () => {
    const root = await newFolder();
    state.interruptNext.add('model.safetensors');
    state.ranges.length = 0;
    await assert.rejects(pullModel(modelName, root, { baseUrl }), (err: unknown) => err instanceof ModelPullError && err.kind === 'interrupted' && /run the same command again to resume/.test(err.message));
    const part = path.join(root, modelName, 'model.safetensors.part');
    const partial = (await fsp.stat(part)).size;
    assert.ok(partial > 0 && partial < 200_000, `partial file has ${partial} bytes`);
    await pullModel(modelName, root, { baseUrl });
    assert.deepEqual(state.ranges, [`model.safetensors bytes=${partial}-`]);
    assert.deepEqual(await fsp.readFile(path.join(root, modelName, 'model.safetensors')), files.get('model.safetensors'));
  });

  test('a transfer that goes silent is abandoned as interrupted and resumes later', async () => {
    const root = await newFolder();
    state.stallNext.add('model.safetensors');
    await assert.rejects(pullModel(modelName, root, { baseUrl, idleTimeoutMs: 200 }), (err: unknown) =>
      err instanceof ModelPullError && err.kind === 'interrupted' && /no data for 200 ms/.test(err.message));
    await pullModel(modelName, root, { baseUrl });
    assert.deepEqual(await fsp.readFile(path.join(root, modelName, 'model.safetensors')), files.get('model.safetensors'));
  });

  test('a checksum mismatch is reported and the download discarded', async () => {
    const root = await newFolder();
    state.wrongSha.add('tokenizer.json');
    try {
      await assert.rejects(pullModel(modelName, root, { baseUrl }), (err: unknown) =>
        err instanceof ModelPullError && err.kind === 'checksum' && err.file === 'tokenizer.json' && /does not match/.test(err.message));
      assert.equal(existsSync(path.join(root, modelName, 'tokenizer.json')), false);
      assert.equal(existsSync(path.join(root, modelName, 'tokenizer.json.part')), false);
    } finally {
      state.wrongSha.delete('tokenizer.json');
    }
  });

  test('offline: refused connection, DNS failure and silence all fail fast with advice', async () => {
    const advice = (err: unknown) => err instanceof ModelPullError && err.kind === 'offline' && /needs internet access/.test(err.message) && /--model DIR/.test(err.message);
    await assert.rejects(pullModel(modelName, await newFolder(), { baseUrl: 'http://127.0.0.1:1' }), advice);
    const dnsFailure = async (): Promise<Response> => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }) });
    };
    await assert.rejects(pullModel(modelName, await newFolder(), { fetchImpl: dnsFailure }), (err: unknown) => advice(err) && /ENOTFOUND/.test(String((err as Error).message)));
    const silent = (_url: string, init?: RequestInit) => new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const started = Date.now();
    await assert.rejects(pullModel(modelName, await newFolder(), { fetchImpl: silent, connectTimeoutMs: 100 }), advice);
    assert.ok(Date.now() - started < 5000);
  });

  test('a sharded repository is fetched through its index', async () => {
    const root = await newFolder();
    state.sharded = true;
    try {
      const dir = await pullModel(modelName, root, { baseUrl });
      for (const [file, body] of shardFiles) assert.deepEqual(await fsp.readFile(path.join(dir, file)), body, file);
      assert.equal(existsSync(path.join(dir, 'model.safetensors')), false);
    } finally {
      state.sharded = false;
    }
  });

  test('unknown model names the known ones; etag parsing', async () => {
    await assert.rejects(pullModel('gpt-5', await newFolder()), /unknown model "gpt-5"; known models: qwen2\.5-coder-0\.5b-instruct/);
    assert.equal(sha256FromEtag(`"${'a'.repeat(64)}"`), 'a'.repeat(64));
    assert.equal(sha256FromEtag('W/"0123456789abcdef0123456789abcdef01234567"'), undefined); // git sha1: not checkable
  });
});

/** A minimal fp32 forward in HF conventions (rotate-half RoPE), kept here so the test stands on its own. */
function greedyGenerate(model: LoadedModel, prompt: number[], steps: number): number[] {
  const c = model.config;
  const w = (name: string): Float32Array => {
    const t = model.weights.get(name);
    if (!t) throw new Error(`missing ${name}`);
    return t.data;
  };
  const matvec = (m: Float32Array, x: Float32Array, rows: number): Float32Array => {
    const cols = x.length;
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += m[r * cols + k] * x[k];
      out[r] = s;
    }
    return out;
  };
  const rmsnorm = (x: Float32Array, g: Float32Array): Float32Array => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const scale = 1 / Math.sqrt(ss / x.length + c.rmsNormEps);
    return x.map((v, i) => v * scale * g[i]);
  };
  const rope = (v: Float32Array, heads: number, pos: number): void => {
    const half = c.headDim / 2;
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < half; j++) {
        const angle = pos * Math.pow(c.ropeTheta, (-2 * j) / c.headDim);
        const a = v[h * c.headDim + j];
        const b = v[h * c.headDim + j + half];
        v[h * c.headDim + j] = a * Math.cos(angle) - b * Math.sin(angle);
        v[h * c.headDim + j + half] = a * Math.sin(angle) + b * Math.cos(angle);
      }
    }
  };
  const kvDim = c.numKvHeads * c.headDim;
  const keys: Float32Array[][] = Array.from({ length: c.numLayers }, () => []);
  const values: Float32Array[][] = Array.from({ length: c.numLayers }, () => []);
  const embed = w('model.embed_tokens.weight');
  const classifier = c.tieWordEmbeddings ? embed : w('lm_head.weight');
  const tokens = [...prompt];
  const out: number[] = [];
  for (let pos = 0; pos < prompt.length + steps - 1; pos++) {
    let x = embed.slice(tokens[pos] * c.hiddenSize, (tokens[pos] + 1) * c.hiddenSize);
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      const xn = rmsnorm(x, w(`${p}.input_layernorm.weight`));
      const q = matvec(w(`${p}.self_attn.q_proj.weight`), xn, c.numHeads * c.headDim);
      const k = matvec(w(`${p}.self_attn.k_proj.weight`), xn, kvDim);
      const v = matvec(w(`${p}.self_attn.v_proj.weight`), xn, kvDim);
      rope(q, c.numHeads, pos);
      rope(k, c.numKvHeads, pos);
      keys[l].push(k);
      values[l].push(v);
      const att = new Float32Array(c.numHeads * c.headDim);
      for (let h = 0; h < c.numHeads; h++) {
        const kvh = Math.floor(h / (c.numHeads / c.numKvHeads));
        const scores = keys[l].map((kk) => {
          let s = 0;
          for (let d = 0; d < c.headDim; d++) s += q[h * c.headDim + d] * kk[kvh * c.headDim + d];
          return s / Math.sqrt(c.headDim);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        e.forEach((p_, t) => {
          for (let d = 0; d < c.headDim; d++) att[h * c.headDim + d] += (p_ / sum) * values[l][t][kvh * c.headDim + d];
        });
      }
      const o = matvec(w(`${p}.self_attn.o_proj.weight`), att, c.hiddenSize);
      x = x.map((val, i) => val + o[i]);
      const xn2 = rmsnorm(x, w(`${p}.post_attention_layernorm.weight`));
      const gate = matvec(w(`${p}.mlp.gate_proj.weight`), xn2, c.intermediateSize);
      const up = matvec(w(`${p}.mlp.up_proj.weight`), xn2, c.intermediateSize);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = matvec(w(`${p}.mlp.down_proj.weight`), act, c.hiddenSize);
      x = x.map((val, i) => val + down[i]);
    }
    if (pos < prompt.length - 1) continue;
    const logits = matvec(classifier, rmsnorm(x, w('model.norm.weight')), c.vocabSize);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    out.push(best);
    tokens.push(best);
  }
  return out;
}
