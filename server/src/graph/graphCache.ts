// On-disk cache of built graphs: <cacheDir>/<key>/model.onnx (+ model.onnx.data).
// key = sha256(weights hash, config, options, builder version). A graph is built in a private temporary folder and
// renamed into place in one step, so the final folder either holds a complete graph or does not exist: a crash or
// error mid-build leaves at most a `.tmp-*` folder, which is never read and is swept on later calls.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig, Weights } from '../model/config.js';
import { buildModelGraph, GRAPH_BUILDER_VERSION, type BuildFileOptions } from './builder.js';
import type { GraphOptions } from './contract.js';
import { writeModelFiles } from './onnxProto.js';

export const MODEL_FILE_NAME = 'model.onnx';
/** Facts about the built graph kept beside it ({ nodeCount }). */
const INFO_FILE_NAME = 'graph-info.json';
/** Temporary folders older than this belong to a build that died; younger ones may be a concurrent build. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface LoadOrBuildGraphArgs {
  cacheDir: string;
  config: ModelConfig;
  /** The weights, or how to get them: only called when the graph is not cached yet. */
  weights: Weights | (() => Promise<Weights>);
  /** A digest of the weight files (e.g. sha256 of the checkpoint); the cache trusts it to identify the weights. */
  weightsHash: string;
  options: GraphOptions;
  files?: BuildFileOptions;
}

export interface CachedGraph {
  modelPath: string;
  /** False when the graph came from the cache. */
  built: boolean;
  buildMs: number;
  /** ONNX nodes as emitted (undefined for a cached graph built before this was recorded). */
  nodeCount?: number;
}

function readNodeCount(dir: string): number | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, INFO_FILE_NAME), 'utf8')) as { nodeCount?: unknown };
    return typeof info.nodeCount === 'number' ? info.nodeCount : undefined;
  } catch {
    return undefined;
  }
}

export function graphCacheKey(weightsHash: string, config: ModelConfig, options: GraphOptions, files: BuildFileOptions = {}): string {
  const kernels = options.kernels ?? 'standard';
  const kvDtype = options.kvDtype ?? 'fp32';
  // 'standard' fp32 token-major keys stay as they were before kernels, kvDtype and pastLayout existed, so graphs already
  // cached remain valid.
  const canonicalOptions = {
    weights: options.weights,
    logits: options.logits,
    attentionMass: options.attentionMass,
    files,
    ...(kernels === 'standard' ? {} : { kernels, attention: options.attention ?? 'gqa' }),
    ...(kvDtype === 'fp32' ? {} : { kvDtype }),
    ...(kernels === 'standard' && options.pastLayout === 'headT' ? { pastLayout: options.pastLayout } : {}),
  };
  return createHash('sha256')
    .update(JSON.stringify({ weightsHash, config, options: canonicalOptions, builder: GRAPH_BUILDER_VERSION }))
    .digest('hex')
    .slice(0, 32);
}

function sweepStaleTemps(cacheDir: string): void {
  const now = Date.now();
  for (const entry of fs.readdirSync(cacheDir)) {
    if (!entry.startsWith('.tmp-')) continue;
    const full = path.join(cacheDir, entry);
    try {
      if (now - fs.statSync(full).mtimeMs > STALE_TEMP_MS) fs.rmSync(full, { recursive: true, force: true });
    } catch {
      // another process swept it first
    }
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Returns the cached graph for these weights/options, building it first if absent. */
export async function loadOrBuildGraph(args: LoadOrBuildGraphArgs): Promise<CachedGraph> {
  const { cacheDir, config, weights, weightsHash, options } = args;
  if (!weightsHash) throw new Error('loadOrBuildGraph: weightsHash must be a non-empty digest of the weights');
  fs.mkdirSync(cacheDir, { recursive: true });
  const key = graphCacheKey(weightsHash, config, options, args.files);
  const finalDir = path.join(cacheDir, key);
  const modelPath = path.join(finalDir, MODEL_FILE_NAME);
  if (fs.existsSync(modelPath)) return { modelPath, built: false, buildMs: 0, nodeCount: readNodeCount(finalDir) };

  sweepStaleTemps(cacheDir);
  const started = Date.now();
  const tempDir = path.join(cacheDir, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(tempDir);
  try {
    const serialized = buildModelGraph(config, typeof weights === 'function' ? await weights() : weights, options, args.files);
    const tempModel = path.join(tempDir, MODEL_FILE_NAME);
    writeModelFiles(serialized, tempModel);
    fs.writeFileSync(path.join(tempDir, INFO_FILE_NAME), JSON.stringify({ nodeCount: serialized.nodeCount }));
    // Data must be on disk before the rename publishes the folder.
    for (const file of fs.readdirSync(tempDir)) fsyncFile(path.join(tempDir, file));
    try {
      fs.renameSync(tempDir, finalDir);
    } catch (err) {
      // A concurrent build published the same key first: theirs is equally good.
      if (!fs.existsSync(modelPath)) throw err;
    }
    return { modelPath, built: true, buildMs: Date.now() - started, nodeCount: serialized.nodeCount };
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
