// One entry point for getting a model off disk: detects the folder's format (Hugging Face safetensors or
// llama2.c), reads config, weights and tokenizer, and checks that they belong together.
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig, Weights } from './config';
import { renderChat, type ChatMessage, type RenderChatOptions } from './chatTemplate';
import { readJsonFile, fileExists } from './jsonFile';
import { ModelImportError, describeError } from './errors';
import { throwIfAborted } from '../util/abort';
import { generationConfigEosIds, hfConfigToModelConfig } from './hfConfig';
import { loadHfTokenizer } from './hfTokenizer';
import { readLlama2cCheckpoint } from './llama2c';
import { Llama2cTokenizer } from './llama2cTokenizer';
import { SHARD_INDEX_FILE, listSafetensorsFiles, readSafetensors, readSafetensorsHeader, type SafetensorsEntry } from './safetensors';
import type { Tokenizer } from './tokenizer';
import { expectedWeightShapes, sameShape } from './weightShapes';

export { ModelImportError } from './errors';
export type { ChatMessage, RenderChatOptions } from './chatTemplate';

export type ModelFormat = 'hf' | 'llama2c';

export interface LoadedModel {
  dir: string;
  format: ModelFormat;
  config: ModelConfig;
  /** fp32, HF names and layouts (see config.ts). */
  weights: Weights;
  tokenizer: Tokenizer;
  /** sha256 (hex) over the config and the weight bytes read: a cache key for compiled graphs and KV caches. */
  weightsHash: string;
  /** Present when the tokenizer ships a chat template (instruct models). */
  renderChat?: (messages: readonly ChatMessage[], options?: Omit<RenderChatOptions, 'specialTokens'>) => string;
}

export interface LoadModelOptions {
  signal?: AbortSignal;
}

/** What detectModelFormat found: the files loadModel will read. */
export type DetectedModel =
  | { format: 'hf'; configFile: string }
  | { format: 'llama2c'; checkpointFile: string; tokenizerFile: string };



/** Decides how to read `dir`: config.json means Hugging Face; a *.bin checkpoint plus tok*.bin means llama2.c. */
export async function detectModelFormat(dir: string): Promise<DetectedModel> {
  let entries: string[];
  try {
    const stats = await fsp.stat(dir);
    if (!stats.isDirectory()) throw new ModelImportError(dir, 'is not a folder (pass the model folder, not a file in it)');
    entries = await fsp.readdir(dir);
  } catch (err) {
    if (err instanceof ModelImportError) throw err;
    throw new ModelImportError(dir, `model folder cannot be read (${describeError(err)})`, { cause: err });
  }
  if (entries.includes('config.json')) return { format: 'hf', configFile: path.join(dir, 'config.json') };

  const bins = entries.filter((e) => e.endsWith('.bin')).sort();
  const tokenizers = bins.filter((e) => e === 'tokenizer.bin' || /^tok.*\.bin$/.test(e));
  const checkpoints = bins.filter((e) => !tokenizers.includes(e) && !e.startsWith('pytorch_model'));
  if (checkpoints.length > 0) {
    if (checkpoints.length > 1) {
      throw new ModelImportError(dir, `has several llama2.c checkpoints (${checkpoints.join(', ')}); keep one per folder`);
    }
    if (tokenizers.length === 0) {
      throw new ModelImportError(dir, `has llama2.c checkpoint ${checkpoints[0]} but no tokenizer (expected tokenizer.bin or tok*.bin)`);
    }
    if (tokenizers.length > 1) {
      throw new ModelImportError(dir, `has several llama2.c tokenizers (${tokenizers.join(', ')}); keep one per folder`);
    }
    return { format: 'llama2c', checkpointFile: path.join(dir, checkpoints[0]), tokenizerFile: path.join(dir, tokenizers[0]) };
  }
  throw new ModelImportError(
    dir,
    'is not a model folder: expected config.json with model.safetensors (Hugging Face) or a llama2.c *.bin checkpoint with tokenizer.bin',
  );
}

/** Loads a model folder. Errors are ModelImportError naming the offending file; cancellation rejects with the signal's reason. */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const absoluteDir = path.resolve(dir);
  const detected = await detectModelFormat(absoluteDir);
  throwIfAborted(options.signal);
  return detected.format === 'hf'
    ? loadHfModel(absoluteDir, detected.configFile, options)
    : loadLlama2cModel(absoluteDir, detected.checkpointFile, detected.tokenizerFile, options);
}

function hashConfig(hash: Hash, config: ModelConfig): void {
  hash.update(JSON.stringify(config));
  hash.update('\0');
}

async function loadLlama2cModel(dir: string, checkpointFile: string, tokenizerFile: string, options: LoadModelOptions): Promise<LoadedModel> {
  const hash = createHash('sha256');
  const checkpoint = await readLlama2cCheckpoint(checkpointFile, { hash, signal: options.signal });
  const tokenizer = await Llama2cTokenizer.load(tokenizerFile, checkpoint.config.vocabSize);
  const configHash = createHash('sha256');
  hashConfig(configHash, checkpoint.config);
  configHash.update(hash.digest());
  return {
    dir,
    format: 'llama2c',
    config: checkpoint.config,
    weights: checkpoint.weights,
    tokenizer,
    weightsHash: configHash.digest('hex'),
  };
}

async function loadHfModel(dir: string, configFile: string, options: LoadModelOptions): Promise<LoadedModel> {
  const config = hfConfigToModelConfig(await readJsonFile(configFile), configFile);
  const generationConfigFile = path.join(dir, 'generation_config.json');
  if (await fileExists(generationConfigFile)) {
    const extra = generationConfigEosIds(await readJsonFile(generationConfigFile));
    config.eosTokenIds = [...new Set([...config.eosTokenIds, ...extra])];
  }

  const files = await listSafetensorsFiles(dir);
  if (!files) {
    const hasPytorch = (await fsp.readdir(dir)).some((e) => e.startsWith('pytorch_model') && e.endsWith('.bin'));
    throw new ModelImportError(
      dir,
      hasPytorch
        ? 'has only PyTorch pytorch_model*.bin weights; convert them to safetensors (model.safetensors) first'
        : `has config.json but no weights (expected model.safetensors or ${SHARD_INDEX_FILE} with its shards)`,
    );
  }
  const weightsLabel = files.length === 1 ? files[0] : path.join(dir, SHARD_INDEX_FILE);

  // Check names and shapes from the headers before reading any data: a wrong checkpoint fails in milliseconds.
  const located = new Map<string, { file: string; entry: SafetensorsEntry }>();
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const [name, entry] of header.entries) {
      const earlier = located.get(name);
      if (earlier) throw new ModelImportError(file, `tensor "${name}" also appears in ${earlier.file}`);
      located.set(name, { file, entry });
    }
  }
  const expected = expectedWeightShapes(config);
  for (const [name, shape] of expected) {
    const found = located.get(name);
    if (!found) throw new ModelImportError(weightsLabel, `missing tensor "${name}" (expected shape ${JSON.stringify(shape)})`);
    if (!sameShape(found.entry.shape, shape)) {
      throw new ModelImportError(
        found.file,
        `tensor "${name}" has shape ${JSON.stringify(found.entry.shape)} but config.json implies ${JSON.stringify(shape)}`,
      );
    }
  }

  // The tokenizer is checked before the (slow) weight read too.
  const tokenizer = await loadHfTokenizer(dir);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelImportError(
      tokenizer.source,
      `tokenizer has ${tokenizer.vocabSize} tokens but the model (${configFile}) has vocab_size ${config.vocabSize}: they do not belong together`,
    );
  }

  const hash = createHash('sha256');
  hashConfig(hash, config);
  const names = new Set(expected.keys());
  const weights: Weights = new Map();
  for (const file of files) {
    await readSafetensors(file, { names, hash, signal: options.signal, into: weights });
  }

  const eos = new Set([...config.eosTokenIds, ...tokenizer.eosTokenIds]);
  config.eosTokenIds = [...eos];
  const template = tokenizer.chatTemplate;
  return {
    dir,
    format: 'hf',
    config,
    weights,
    tokenizer,
    weightsHash: hash.digest('hex'),
    renderChat: template
      ? (messages, opts) => renderChat(template, messages, { ...opts, specialTokens: tokenizer.specialTokens })
      : undefined,
  };
}

/** Throws a RangeError naming the first id outside [0, vocabSize); use before feeding ids to a graph. */
export function validateTokenIds(ids: readonly number[], vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`token id ${id} at position ${i} is outside the model's vocabulary (0..${vocabSize - 1})`);
    }
  }
}
