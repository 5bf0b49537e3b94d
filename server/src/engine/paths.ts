// Where RepoPot keeps derived files (built graphs, distilled caches) when the caller names no folder.
import os from 'node:os';
import path from 'node:path';

export function defaultCacheDir(): string {
  const override = process.env.REPOPOT_CACHE_DIR;
  if (override) return path.resolve(override);
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'repopot');
}
