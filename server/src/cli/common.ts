// Option values shared by several subcommands (one definition, one default).
import type { WeightFormat } from '../graph/contract';

export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['fp32', 'fp16', 'int8', 'int4'];

import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './args';

/** The project (or installed extension) root: the folder holding package.json above this module. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const DEFAULT_MODEL_NAME = 'repopot-tiny-code';

/** --model DIR, or RepoPot's own model shipped in models/. */
export function resolveModelDir(option: string | undefined): string {
  if (option) return path.resolve(option);
  const dir = path.join(projectRoot(), 'models', DEFAULT_MODEL_NAME);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new CliError(`the default model is missing (${dir}); pass --model DIR (a Hugging Face or llama2.c folder) or run "repopot model pull NAME"`);
  }
  return dir;
}
