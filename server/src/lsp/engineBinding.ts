// The only module that loads the engine: a model folder → Engine → the server's DistilledPot.
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Engine } from '../engine/engine';
import { DEFAULT_KV_DTYPE, KV_DTYPES } from '../vocab';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, type ModelIdentity, type SteeringVectors } from '../steer/vectors';
import { defaultSteering } from '../steer/defaults';
import { DistilledPot } from './answerer';
import type { ServerSettings } from './protocol';

/**
 * Loads the model of `settings` and wraps it in the pot for workspace `root`. (distill/potStore's loadPot
 * reads a saved pot from disk; this one builds the server's live pot.)
 */
export async function loadDistilledPot(settings: ServerSettings, root: string, log: (message: string) => void): Promise<DistilledPot> {
  if (!settings.modelPath) throw new Error('no model folder is configured');
  const modelDir = settings.modelPath;
  // A hand-edited settings.json may hold anything: an unknown dtype is said and replaced by the default.
  let kvDtype = settings.kvDtype;
  if (!(KV_DTYPES as readonly string[]).includes(kvDtype)) {
    log(`repopot.cache.kvDtype "${String(kvDtype)}" is not one of ${KV_DTYPES.join(', ')}: using ${DEFAULT_KV_DTYPE}`);
    kvDtype = DEFAULT_KV_DTYPE;
  }
  const engine = await Engine.load(modelDir, {
    device: settings.device,
    kvDtype,
    // Built graphs live beside the pots (per workspace storage); else the engine's default cache.
    cacheDir: settings.cacheDir ? path.join(settings.cacheDir, 'graphs') : undefined,
    log,
  });
  const c = engine.config;
  const identity = { modelHash: engine.model.weightsHash, shape: { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim } };
  const vectors = await steeringVectorsFor(modelDir, settings.steering.vectorsPath, identity, log);
  const label = settings.modelLabel || path.basename(modelDir);
  return new DistilledPot(engine, label, { root, cache: settings.cache, cacheDir: settings.cacheDir, decoder: settings.decoder, log }, vectors);
}

/**
 * The vectors the server steers with: the file the user chose (repopot.steering.vectors), or else the model's own
 * DIR/steering.safetensors when steer/defaults says it steers by default (a measured held-out gain). Answers still
 * work unsteered when neither applies; the reason is in the log.
 */
async function steeringVectorsFor(modelDir: string, chosen: string | undefined, identity: ModelIdentity, log: (message: string) => void): Promise<SteeringVectors | undefined> {
  const file = chosen || path.join(modelDir, DEFAULT_VECTORS_FILE);
  if (!chosen && !existsSync(file)) return undefined;
  try {
    const vectors = chosen ? await loadSteeringVectors(file, identity) : await byDefault(modelDir, identity, file, log);
    if (vectors) log(`steering vectors: ${file} (layers ${vectors.layers.join(', ')})`);
    return vectors;
  } catch (err) {
    log(`steering off: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

async function byDefault(modelDir: string, identity: ModelIdentity, file: string, log: (message: string) => void): Promise<SteeringVectors | undefined> {
  const steering = await defaultSteering(modelDir, identity);
  if (steering.enabledByDefault) return steering.settings!.vectors;
  if (!steering.settings) throw new Error(steering.reason);
  log(`steering off by default: ${file}: ${steering.reason}; set repopot.steering.vectors to use it anyway`);
  return undefined;
}
