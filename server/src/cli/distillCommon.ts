// Options shared by `repopot ingest` and `repopot ask` (one definition each), checked before any work starts.
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { defaultCacheDir } from '../engine/paths';
import { Distiller, fourierLayoutOf, MIN_POT_TOKENS, skippedFileCounts, type DistillOptions, type IngestProgress, type IngestSummary } from '../distill/distiller';
import { walkRepository, type WalkResult } from '../distill/repoWalker';
import { DEFAULT_CHUNK_TOKENS, DEFAULT_MEMORY_MIB, DEFAULT_POLICY, POLICY_NAMES, type PolicyName } from '../vocab';
import { choiceOption, CliError, cliLog, floatOption, optionalInt } from './args';
import { loadEngine, modelChoice, modelOptions, withEngine, type ModelChoice } from './common';

export const distillFlags = {
  repo: { type: 'string', value: 'DIR', help: 'the repository folder to read (required)' },
  budget: { type: 'string', value: 'N', help: 'tokens the pot keeps; capped by what the model\'s context allows', shows: 'the largest the model allows, at most 4096' },
  memory: { type: 'string', value: 'MIB', help: 'the pot\'s size in MiB instead of --budget: as many slots as fit (with --fourier, tier slots: about twice as many); capped by what the model\'s context allows', shows: 'off: --budget' },
  chunk: { type: 'string', value: 'N', help: 'tokens fed at a time', shows: `${DEFAULT_CHUNK_TOKENS}, at most a quarter of the model's context` },
  policy: { type: 'string', value: 'P', help: 'how the pot decides what to keep', choices: POLICY_NAMES, shows: DEFAULT_POLICY },
  include: { type: 'string', multiple: true, value: 'GLOB', help: 'only files matching these globs', shows: 'every file' },
  exclude: { type: 'string', multiple: true, value: 'GLOB', help: 'never these files (besides .gitignore and the built-in filters)' },
  ...modelOptions(),
  'no-cache': { type: 'boolean', default: false, help: 'neither reuse nor save the pot (saved pots live in $REPOPOT_CACHE_DIR)' },
  fourier: { type: 'boolean', default: false, help: 'pot with the Fourier tier (fourier.json beside the model, from "repopot fourier calibrate"): --budget then counts the bytes of N plain slots (--memory: those MiB), which hold about twice the tokens', shows: 'off' },
  json: { type: 'boolean', default: false, help: 'one JSON line on stdout, no progress' },
} as const;

export interface DistillFlagValues {
  repo?: string;
  model?: string;
  budget?: string;
  memory?: string;
  chunk?: string;
  policy?: string;
  include?: string[];
  exclude?: string[];
  device?: string;
  quant?: string;
  'kv-dtype'?: string;
  'no-cache'?: boolean;
  fourier?: boolean;
}

/** Everything `ingest`/`ask` were asked for, validated; nothing read or loaded yet. */
export interface DistillRequest {
  model: ModelChoice;
  options: Omit<DistillOptions, 'signal'>;
}

export function distillRequest(values: DistillFlagValues): DistillRequest {
  if (values.budget !== undefined && values.memory !== undefined) throw new CliError('--budget and --memory both size the pot: give one of them');
  if (!values.repo) throw new CliError('--repo DIR is required');
  const repo = path.resolve(values.repo);
  const memory = values.memory === undefined ? undefined : floatOption(values.memory, 'memory', DEFAULT_MEMORY_MIB);
  if (memory !== undefined && !(memory > 0)) throw new CliError(`--memory must be a size in MiB above 0 (got "${values.memory}")`);
  const options: DistillRequest['options'] = {
    repo,
    policy: choiceOption<PolicyName>(values.policy, 'policy', POLICY_NAMES, DEFAULT_POLICY),
    budget: optionalInt(values.budget, 'budget', MIN_POT_TOKENS),
    chunkSize: optionalInt(values.chunk, 'chunk', MIN_POT_TOKENS),
    include: values.include,
    exclude: values.exclude,
    cacheDir: values['no-cache'] ? undefined : defaultCacheDir(),
    ...(values.fourier ? { fourier: true } : {}),
    ...(memory !== undefined ? { memory } : {}),
  };
  const model = modelChoice(values);
  if (values.fourier && model.kvDtype !== 'fp32') throw new CliError(`--fourier needs the fp32 KV cache: drop --kv-dtype ${model.kvDtype} or --fourier`);
  if (!fs.existsSync(repo)) throw new CliError(`--repo: ${repo} does not exist`);
  if (!fs.statSync(repo).isDirectory()) throw new CliError(`--repo: ${repo} is not a folder`);
  return { model, options };
}

/** Walks the repository before the model loads: a folder with nothing to read fails here, in milliseconds. */
export async function walkForIngest(request: DistillRequest, signal: AbortSignal): Promise<WalkResult> {
  const { repo, include, exclude } = request.options;
  return walkRepository(repo, { include, exclude, signal });
}

/** The error for a repository where nothing is left to read, with what was skipped and why. */
export function nothingToReadMessage(repo: string, walk: WalkResult): string {
  const counts = skippedFileCounts(walk.skipped);
  const reasons = Object.entries(counts).map(([reason, n]) => `${n} ${reason}`).join(', ');
  return reasons
    ? `${repo}: no file to read: every file was skipped (${reasons}); see --include/--exclude`
    : `${repo}: no file to read: the folder is empty`;
}

/** Loads the model and says which requested settings its context caps (e.g. --budget or --memory over what it allows). */
export async function openEngineFor(request: DistillRequest, log: (m: string) => void): Promise<Engine> {
  const engine = await loadEngine(request.model, log);
  const { budget, memory, chunkSize, policy } = request.options;
  for (const notice of new Distiller(engine).resolve({ budget, memory, chunkSize, policy }).notices) log(notice.replace(/^budget/, '--budget').replace(/^memory/, '--memory').replace(/^chunk size/, '--chunk'));
  // --fourier needs the model's calibration: said now, before anything is streamed.
  if (request.options.fourier) {
    try {
      fourierLayoutOf(engine);
    } catch (error) {
      await engine.dispose();
      throw new CliError(`--fourier: ${(error as Error).message}`);
    }
  }
  return engine;
}

/** What `ingest` and `ask` distil, with the engine and distiller that did it. */
export interface Ingested {
  request: DistillRequest;
  engine: Engine;
  distiller: Distiller;
  summary: IngestSummary;
}

/**
 * What `ingest` and `ask` do first: validate the request, walk the repository (a folder with nothing to read is an
 * error with its skip counts, before the model loads), load the model and distil. `fn` gets the result; the engine
 * is disposed of after it.
 */
export async function withIngested<R>(values: DistillFlagValues & { json?: boolean }, signal: AbortSignal, fn: (ingested: Ingested) => Promise<R>): Promise<R> {
  const request = distillRequest(values);
  const walk = await walkForIngest(request, signal);
  if (walk.files.length === 0) throw new Error(nothingToReadMessage(request.options.repo, walk));
  return withEngine(openEngineFor(request, cliLog), async (engine) => {
    const distiller = new Distiller(engine);
    const summary = await distiller.ingest({ ...request.options, walk, signal, onProgress: progressPrinter(values.json) });
    return fn({ request, engine, distiller, summary });
  });
}

/** One-line summary of how the pot was built. */
export function summaryLine(summary: IngestSummary): string {
  const what = summary.source === 'reused' ? 'reused the saved pot' : `read ${summary.files} of ${summary.filesSeen} files`;
  return `${what} · ${summary.tokensSeen} tokens → ${summary.tokensKept} kept (${summary.policy}, budget ${summary.budget})`;
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
