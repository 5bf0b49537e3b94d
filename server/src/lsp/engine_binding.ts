// The only module that loads the engine: a model folder → Engine → the server's DistilledPot.
import * as path from 'node:path';
import { Engine } from '../engine/engine.js';
import { DistilledPot, type PotSettings } from './answerer.js';
import type { Device } from './protocol.js';

export interface LoadOptions extends PotSettings {
  modelDir: string;
  /** Shown in status; default the folder's name. */
  label: string;
  device: Device;
  log: (message: string) => void;
}

export async function loadPot(opts: LoadOptions): Promise<DistilledPot> {
  const engine = await Engine.load(opts.modelDir, {
    device: opts.device,
    // Built graphs live beside the pots (per workspace storage); else the engine's default cache.
    cacheDir: opts.cacheDir ? path.join(opts.cacheDir, 'graphs') : undefined,
    log: opts.log,
  });
  return new DistilledPot(engine, opts.label || path.basename(opts.modelDir), opts);
}
