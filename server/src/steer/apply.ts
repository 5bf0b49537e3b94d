// One-shot KV-cache steering at inference (Belitsky et al. 2025): prefill the prompt without its
// last token, add c_k·ΔK and c_v·ΔV to the cached K/V of the last cached slot in the chosen layers,
// then feed the last prompt token and decode normally. No hooks, no prompt change, no per-token cost.
import type { Engine, GenerateOptions, GenerateResult } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { checkVectorsForModel, rotateKeyRow, SteeringError, type SteeringVectors } from './vectors';

export interface SteerSettings {
  vectors: SteeringVectors;
  /** c_v: scale of ΔV. */
  cValue: number;
  /** c_k: scale of ΔK (default 0, as the issue specifies). */
  cKey?: number;
  /** Layers to steer (default: every layer the vectors cover, i.e. all but the first). */
  layers?: readonly number[];
}

/** The layers a setting steers: the requested ones, each of which must carry a vector. */
export function steeredLayers(settings: SteerSettings): number[] {
  const available = settings.vectors.layers;
  const wanted = settings.layers ?? settings.vectors.defaultLayers ?? available;
  for (const l of wanted) {
    if (!available.includes(l)) throw new SteeringError(`${settings.vectors.file ?? 'steering vectors'}: layer ${l} has no vector (vectors cover ${available.join(', ')})`);
  }
  return [...wanted];
}

/** Adds the scaled deltas to one slot (ΔK re-rotated to the slot's RoPE position). */
export function applySteering<Tag>(cache: KvCache<Tag>, slot: number, settings: SteerSettings): void {
  const { vectors, cValue } = settings;
  const cKey = settings.cKey ?? 0;
  const position = cache.position(slot);
  for (const layer of steeredLayers(settings)) {
    const j = vectors.layers.indexOf(layer);
    const deltaKey = cKey === 0 ? null : rotateKeyRow(vectors.keys[j], cache.shape, position);
    cache.addDelta(slot, layer, deltaKey, cValue === 0 ? null : vectors.values[j], cKey, cValue);
  }
}

/**
 * engine.generate with one-shot steering: same arguments and result. The prompt's last token is
 * held back so the edited slot (the one before it) is attended by it and by every generated token.
 * A one-token prompt steers the last slot already in the cache (e.g. the pot); with neither there is
 * no slot to edit and the call decodes unsteered.
 */
export async function generateSteered<Tag>(engine: Engine, cache: KvCache<Tag>, prompt: readonly number[], settings: SteerSettings, options: GenerateOptions): Promise<GenerateResult> {
  checkVectorsForModel(settings.vectors, { modelHash: engine.model.weightsHash, shape: cache.shape });
  if (prompt.length === 0) throw new SteeringError('steering needs a prompt: the edit goes on the slot before its last token');
  if (prompt.length > 1) await engine.prefill(cache, prompt.slice(0, -1), { signal: options.signal });
  if (cache.length > 0) applySteering(cache, cache.length - 1, settings);
  return engine.generate(cache, prompt.slice(-1), options);
}
