// The only module that loads the engine: a model folder → Engine → the server's DistilledPot.
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Engine } from '../engine/engine.js';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, type SteeringVectors } from '../steer/vectors.js';
import { DistilledPot, type PotSettings } from './answerer.js';
import type { Device } from './protocol.js';

export interface LoadOptions extends PotSettings {
  modelDir: string;
  /** Shown in status; default the folder's name. */
  label: string;
  device: Device;
  /** Steering vectors file; empty = steering.safetensors beside the model, when present. */
  steeringVectors: string;
  log: (message: string) => void;
}

export async function loadPot(opts: LoadOptions): Promise<DistilledPot> {
  const engine = await Engine.load(opts.modelDir, {
    device: opts.device,
    // Built graphs live beside the pots (per workspace storage); else the engine's default cache.
    cacheDir: opts.cacheDir ? path.join(opts.cacheDir, 'graphs') : undefined,
    log: opts.log,
  });
  const c = engine.config;
  let vectors: SteeringVectors | undefined;
  const file = opts.steeringVectors || path.join(opts.modelDir, DEFAULT_VECTORS_FILE);
  if (opts.steeringVectors || existsSync(file)) {
    try {
      vectors = await loadSteeringVectors(file, { modelHash: engine.model.weightsHash, shape: { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim } });
      const gain = vectors.evaluatedGain;
      if (!opts.steeringVectors && !(gain !== undefined && gain > 0)) {
        // Vectors beside the model steer by default only when `repopot bench steer` measured a held-out gain.
        opts.log(`steering off by default: ${file} has no measured gain (${gain === undefined ? 'not evaluated' : `${gain.toFixed(1)} points`}); set repopot.steering.vectors to use it anyway`);
        vectors = undefined;
      } else {
        opts.log(`steering vectors: ${file} (layers ${vectors.layers.join(', ')})`);
      }
    } catch (err) {
      // Answers still work unsteered; the reason is in the log.
      opts.log(`steering off: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return new DistilledPot(engine, opts.label || path.basename(opts.modelDir), opts, vectors);
}
