// The persisted pot: one JSON file per workspace in the cache folder, written atomically,
// so a restarted server (after a crash or a reload) restores what it had ingested.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PotSnapshot } from './answerer.js';
import type { SkippedFile } from './protocol.js';

export interface FileStamp {
  mtimeMs: number;
  size: number;
}

export interface PersistedState {
  version: 1;
  root: string;
  settingsKey: string;
  files: Record<string, FileStamp>;
  skipped: SkippedFile[];
  pot: PotSnapshot;
}

const FILE = 'pot-v1.json';

export async function loadState(cacheDir: string): Promise<PersistedState | undefined> {
  if (!cacheDir) return undefined;
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(cacheDir, FILE), 'utf8')) as PersistedState;
    return parsed.version === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function saveState(cacheDir: string, state: PersistedState): Promise<void> {
  if (!cacheDir) return;
  await fs.mkdir(cacheDir, { recursive: true });
  const target = path.join(cacheDir, FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(state));
  await fs.rename(tmp, target);
}

export async function clearState(cacheDir: string): Promise<void> {
  if (!cacheDir) return;
  await fs.rm(path.join(cacheDir, FILE), { force: true });
}
