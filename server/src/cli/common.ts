// Option tables and parsers shared by several subcommands: the model, where it runs and its weight format
// (one definition for every command that loads a model), and where the project's own files are.
import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../engine/engine';
import { DEFAULT_CLI_DEVICE, DEFAULT_KV_DTYPE, DEVICES, KV_DTYPES, OWN_MODEL, WEIGHT_FORMATS, type Device, type KvDtype, type WeightFormatName } from '../vocab';
import { ModelImportError } from '../model/errors';
import { choiceOption, CliError } from './args';

export { DEVICES, KV_DTYPES, WEIGHT_FORMATS };

/** The project (or installed extension) root: the folder holding package.json above this module. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const DEFAULT_MODEL_NAME = OWN_MODEL;

/** --model DIR, or RepoPot's own model shipped in models/. Checked here, before any work starts. */
export function resolveModelDir(option: string | undefined): string {
  if (option) {
    const dir = path.resolve(option);
    // Exit 1 like any model that fails to load, but before anything else runs.
    if (!fs.existsSync(dir)) throw new ModelImportError(dir, 'no such model folder (--model)');
    return dir;
  }
  const dir = path.join(projectRoot(), 'models', DEFAULT_MODEL_NAME);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new CliError(`the default model is missing (${dir}); pass --model DIR (a Hugging Face or llama2.c folder) or run "repopot model pull NAME"`);
  }
  return dir;
}

/** --kv-dtype: how the KV cache stores K/V (repopot.cache.kvDtype's values). */
export const kvDtypeOption = { type: 'string', value: 'T', help: 'KV cache storage (fp16: half the bytes)', choices: KV_DTYPES, shows: DEFAULT_KV_DTYPE } as const;

/** --model, --device, --quant, --kv-dtype: every command that loads a model takes these. */
export function modelOptions(quantDefault: WeightFormatName = 'fp32') {
  return {
    model: { type: 'string', value: 'DIR', help: 'model folder (Hugging Face or llama2.c)', shows: `models/${OWN_MODEL}` },
    device: { type: 'string', value: 'D', help: 'where the model runs', choices: DEVICES, shows: DEFAULT_CLI_DEVICE },
    quant: { type: 'string', value: 'Q', help: 'weight format', choices: WEIGHT_FORMATS, shows: quantDefault },
    'kv-dtype': kvDtypeOption,
  } as const;
}

export interface ModelChoice {
  modelDir: string;
  device: Device;
  weights: WeightFormatName;
  kvDtype: KvDtype;
}

/** --kv-dtype, checked. */
export function kvDtypeChoice(value: string | undefined): KvDtype {
  return choiceOption(value, 'kv-dtype', KV_DTYPES, DEFAULT_KV_DTYPE);
}

/** Validates --model/--device/--quant/--kv-dtype (no model is loaded yet). */
export function modelChoice(values: { model?: string; device?: string; quant?: string; 'kv-dtype'?: string }, quantDefault: WeightFormatName = 'fp32'): ModelChoice {
  return {
    device: choiceOption(values.device, 'device', DEVICES, DEFAULT_CLI_DEVICE),
    weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, quantDefault),
    kvDtype: kvDtypeChoice(values['kv-dtype']),
    modelDir: resolveModelDir(values.model),
  };
}

export function loadEngine(choice: ModelChoice, log: (m: string) => void): Promise<Engine> {
  return Engine.load(choice.modelDir, { device: choice.device, weights: choice.weights, kvDtype: choice.kvDtype, log });
}

/** Loads the engine, runs `fn` with it, and disposes of it however `fn` ends. */
export async function withEngine<R>(engine: Engine | Promise<Engine>, fn: (engine: Engine) => Promise<R>): Promise<R> {
  const loaded = await engine;
  try {
    return await fn(loaded);
  } finally {
    await loaded.dispose();
  }
}

/** --x a,b,c as numbers, each checked. */
export function numberList(value: string | undefined, name: string, check: (x: number) => boolean = Number.isFinite, what = 'numbers'): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = value.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (xs.length === 0 || xs.some((x) => !check(x))) throw new CliError(`--${name} must be a comma-separated list of ${what} (got "${value}")`);
  return xs;
}
