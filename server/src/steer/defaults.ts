// Product defaults (issue 4, item 5): Ask and chat steer by default only when the model's vectors
// file (DIR/steering.safetensors) says the held-out evaluation showed a gain. `repopot bench steer
// --update-vectors` writes that verdict together with the c_v and layers tuned on the training split.
import fs from 'node:fs';
import path from 'node:path';
import type { SteerSettings } from './apply';
import { DEFAULT_VECTORS_FILE, loadSteeringVectors, type ModelIdentity, type SteeringVectors } from './vectors';

export interface DefaultSteering {
  /** Settings to pass as AskOptions.steer; undefined when the model has no (valid, tuned) vectors. */
  settings?: SteerSettings;
  /** Whether to steer when the user has not chosen: true only if the evaluation showed a gain. */
  enabledByDefault: boolean;
  /** Why, for the settings UI and logs. */
  reason: string;
}

export async function defaultSteering(modelDir: string, model: ModelIdentity): Promise<DefaultSteering> {
  const file = path.join(modelDir, DEFAULT_VECTORS_FILE);
  if (!fs.existsSync(file)) return { enabledByDefault: false, reason: `no ${DEFAULT_VECTORS_FILE} next to the model` };
  let vectors: SteeringVectors;
  try {
    vectors = await loadSteeringVectors(file, model);
  } catch (error) {
    return { enabledByDefault: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (vectors.defaultCValue === undefined) return { enabledByDefault: false, reason: `${file} has no tuned c_v (run "repopot bench steer --update-vectors")` };
  const settings: SteerSettings = { vectors, cValue: vectors.defaultCValue, cKey: 0, layers: vectors.defaultLayers };
  const gain = vectors.evaluatedGain;
  if (gain === undefined || !(gain > 0)) return { settings, enabledByDefault: false, reason: `evaluation showed no gain (${gain === undefined ? 'not evaluated' : `${gain.toFixed(1)} points`})` };
  return { settings, enabledByDefault: true, reason: `evaluation: +${gain.toFixed(1)} points over plain` };
}
