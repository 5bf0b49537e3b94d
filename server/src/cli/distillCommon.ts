// Options shared by `repopot ingest` and `repopot ask` (one definition each).
import path from 'node:path';
import { Engine } from '../engine/engine';
import { defaultCacheDir } from '../engine/paths';
import { POLICY_NAMES, type PolicyName } from '../distill/policies/policy';
import type { DistillOptions, IngestProgress } from '../distill/distiller';
import { choiceOption, CliError, intOption } from './args';
import { DEVICES, WEIGHT_FORMATS, resolveModelDir } from './common';
import { FOURIER_FILE, findLayout, type FourierLayout } from '../fourier/layout';

export const distillFlags = {
  repo: { type: 'string' },
  model: { type: 'string' },
  budget: { type: 'string' },
  chunk: { type: 'string' },
  policy: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  device: { type: 'string' },
  quant: { type: 'string' },
  'no-cache': { type: 'boolean', default: false },
  fourier: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export interface DistillFlagValues {
  repo?: string;
  model?: string;
  budget?: string;
  chunk?: string;
  policy?: string;
  include?: string[];
  exclude?: string[];
  device?: string;
  quant?: string;
  'no-cache'?: boolean;
  fourier?: boolean;
}

/** --fourier: the model's fourier.json (from `repopot fourier calibrate`); --budget then counts plain slots' bytes. */
export function fourierLayoutFor(values: DistillFlagValues, engine: Engine): FourierLayout | undefined {
  if (!values.fourier) return undefined;
  const c = engine.config;
  let layout: FourierLayout | undefined;
  try {
    layout = findLayout(engine.model.dir, { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, engine.model.weightsHash);
  } catch (error) {
    throw new CliError(`--fourier: ${(error as Error).message}`);
  }
  if (!layout) throw new CliError(`--fourier: ${engine.model.dir ?? 'the model'} has no ${FOURIER_FILE}; run "repopot fourier calibrate --model DIR" first`);
  return layout;
}

export async function openEngine(values: DistillFlagValues, log: (m: string) => void): Promise<Engine> {
  return Engine.load(resolveModelDir(values.model), {
    device: choiceOption(values.device, 'device', DEVICES, 'cpu'),
    weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'fp32'),
    log,
  });
}

export function distillOptions(values: DistillFlagValues, signal: AbortSignal): DistillOptions {
  if (!values.repo) throw new CliError('--repo DIR is required');
  return {
    repo: path.resolve(values.repo),
    policy: choiceOption<PolicyName>(values.policy, 'policy', POLICY_NAMES, 'infinipot'),
    budget: values.budget === undefined ? undefined : intOption(values.budget, 'budget', 0, 16),
    chunkTokens: values.chunk === undefined ? undefined : intOption(values.chunk, 'chunk', 0, 1),
    include: values.include,
    exclude: values.exclude,
    cacheDir: values['no-cache'] ? undefined : defaultCacheDir(),
    signal,
  };
}

/** Ingest progress on stderr, at most once a second (nothing in --json mode). */
export function progressPrinter(json: boolean | undefined): ((p: IngestProgress) => void) | undefined {
  if (json) return undefined;
  let lastReport = 0;
  return (p) => {
    if (Date.now() - lastReport < 1000) return;
    lastReport = Date.now();
    process.stderr.write(`\r${p.filesDone}/${p.filesTotal} files · ${p.tokensSeen} tokens seen · ${p.tokensKept}/${p.budget} kept · ${p.tokensPerSecond.toFixed(0)} tok/s   `);
  };
}
