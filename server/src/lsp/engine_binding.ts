// The only module that loads the engine: a model folder → Engine → the server's DistilledPot.
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Engine } from '../engine/engine.js';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, type SteeringVectors } from '../steer/vectors.js';
import { DistilledPot } from './answerer.js';
import type { ServerSettings } from './protocol.js';

/**
 * Loads the model of `settings` and wraps it in the pot for workspace `root`. (distill/potStore's loadPot
 * reads a saved pot from disk; this one builds the server's live pot.)
 */
export async function loadDistilledPot(settings: ServerSettings, root: string, log: (message: string) => void): Promise<DistilledPot> {
  if (!settings.modelPath) throw new Error('no model folder is configured');
  const modelDir = settings.modelPath;
  const engine = await Engine.load(modelDir, {
    device: settings.device,
    // Built graphs live beside the pots (per workspace storage); else the engine's default cache.
    cacheDir: settings.cacheDir ? path.join(settings.cacheDir, 'graphs') : undefined,
    log,
  });
  const c = engine.config;
  let vectors: SteeringVectors | undefined;
  const chosen = settings.steering.vectorsPath;
  const file = chosen || path.join(modelDir, DEFAULT_VECTORS_FILE);
  if (chosen || existsSync(file)) {
    try {
      vectors = await loadSteeringVectors(file, { modelHash: engine.model.weightsHash, shape: { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim } });
      const gain = vectors.evaluatedGain;
      if (!chosen && !(gain !== undefined && gain > 0)) {
        // Vectors beside the model steer by default only when `repopot bench steer` measured a held-out gain.
        log(`steering off by default: ${file} has no measured gain (${gain === undefined ? 'not evaluated' : `${gain.toFixed(1)} points`}); set repopot.steering.vectors to use it anyway`);
        vectors = undefined;
      } else {
        log(`steering vectors: ${file} (layers ${vectors.layers.join(', ')})`);
      }
    } catch (err) {
      // Answers still work unsteered; the reason is in the log.
      log(`steering off: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const label = settings.modelLabel || path.basename(modelDir);
  return new DistilledPot(engine, label, { root, cache: settings.cache, cacheDir: settings.cacheDir, decoder: settings.decoder, log }, vectors);
}
