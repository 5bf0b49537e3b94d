// Saving and restoring a distilled pot per workspace. Writes are atomic (temp file, fsync, rename),
// so an interrupted write leaves the previous snapshot valid. A snapshot made by another format
// version or another model is rejected with a reason and never half-applied.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KvCache, type CacheShape, type KvDtype } from '../engine/kvCache';
import { FourierKvCache } from '../fourier/tier';
import type { SlotStats } from './policies/policy';
import type { SlotSource } from './provenance';

// 2: a pot starts with the model's BOS token (streamIntoPot); a version-1 pot was streamed without it and is rebuilt.
// 3: kept slots keep their original positions until they run out (Pot.positionLimit); a version-2 pot was re-packed
//    at every compression, which the model reads worse, and is rebuilt.
// 4: slots of lines that define or import a name carry `outline` (a third tag element), which InfiniPot's default
//    pin=outline keeps ahead of the scores; a version-3 pot has no such tags and is rebuilt.
// 5: files written within minutes of each other no longer count as recently edited (order.ts), so an unpacked
//    package streams its code last instead of whatever was written last; a version-4 pot may hold the old order.
export const POT_FORMAT_VERSION = 5;
const MAGIC = Buffer.from('RPPOT\n', 'ascii');

export interface PotMeta {
  formatVersion: number;
  modelHash: string;
  policy: string;
  budget: number;
  /** sha256 of each streamed file's bytes, by repository-relative path. */
  fileHashes: Record<string, string>;
  tokensSeen: number;
  compressions: number;
  skipped: Record<string, number>;
  savedAt: string;
}

export interface StoredPot {
  meta: PotMeta;
  cache: KvCache<SlotSource>;
  stats: SlotStats;
}

export class PotStoreError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'PotStoreError';
  }
}

/** One file per (workspace, model, policy, budget) under `<cacheDir>/pots/`. */
export function potPath(cacheDir: string, repoRoot: string, modelHash: string, policy: string, budget: number): string {
  const key = crypto.createHash('sha256').update(`${path.resolve(repoRoot)}\n${modelHash}\n${policy}\n${budget}`).digest('hex').slice(0, 24);
  return path.join(cacheDir, 'pots', `${path.basename(path.resolve(repoRoot)) || 'root'}-${key}.pot`);
}

export function encodePot(pot: StoredPot): Buffer {
  const header = Buffer.from(JSON.stringify({ meta: pot.meta, stats: { nll: pot.stats.nll.map(finiteOrNull), accumulated: pot.stats.accumulated, recent: pot.stats.recent, tokens: pot.stats.tokens } }), 'utf8');
  const cacheBytes = pot.cache.snapshot((tag) => (tag ? (tag.outline ? [tag.file, tag.line, 1] : [tag.file, tag.line]) : null));
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(header.length, 0);
  lengths.writeUInt32LE(cacheBytes.length, 4);
  const checksum = crypto.createHash('sha256').update(header).update(cacheBytes).digest();
  return Buffer.concat([MAGIC, lengths, header, Buffer.from(cacheBytes.buffer, cacheBytes.byteOffset, cacheBytes.byteLength), checksum]);
}

/** What a stored pot must match; `kvDtype` (the engine's) converts a plain pot saved with the other KV dtype. */
export interface PotExpectation {
  modelHash: string;
  shape: CacheShape;
  kvDtype?: KvDtype;
}

export function decodePot(bytes: Buffer, file: string, expected: PotExpectation): StoredPot {
  if (bytes.length < MAGIC.length + 8 + 32 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new PotStoreError(file, 'not a RepoPot pot snapshot');
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const cacheLength = bytes.readUInt32LE(MAGIC.length + 4);
  const headerStart = MAGIC.length + 8;
  const cacheStart = headerStart + headerLength;
  const checksumStart = cacheStart + cacheLength;
  if (checksumStart + 32 !== bytes.length) throw new PotStoreError(file, 'snapshot is truncated or has trailing bytes');
  const header = bytes.subarray(headerStart, cacheStart);
  const cacheBytes = bytes.subarray(cacheStart, checksumStart);
  const checksum = crypto.createHash('sha256').update(header).update(cacheBytes).digest();
  if (!checksum.equals(bytes.subarray(checksumStart))) throw new PotStoreError(file, 'checksum mismatch (damaged snapshot)');
  const parsed = JSON.parse(header.toString('utf8')) as { meta: PotMeta; stats: { nll: (number | null)[]; accumulated: number[]; recent: number[]; tokens?: number[] } };
  const { meta } = parsed;
  if (meta.formatVersion !== POT_FORMAT_VERSION) throw new PotStoreError(file, `format version ${meta.formatVersion}, this build reads ${POT_FORMAT_VERSION}`);
  if (meta.modelHash !== expected.modelHash) throw new PotStoreError(file, 'made with a different model');
  // A pot with the Fourier tier saved its tier form (sensitive dims + coefficients): restore it as such (always fp32).
  // A plain pot is restored in the engine's KV dtype (an fp32 pot read by an fp16 engine is rounded, and vice versa).
  const raw = new Uint8Array(cacheBytes);
  const cache = FourierKvCache.isSnapshot(raw)
    ? FourierKvCache.restoreTier<SlotSource>(raw, decodeTag, expected.shape)
    : KvCache.restore<SlotSource>(raw, decodeTag, expected.shape, { kvDtype: expected.kvDtype });
  const stats: SlotStats = { nll: parsed.stats.nll.map((v) => (v === null ? NaN : v)), accumulated: parsed.stats.accumulated, recent: parsed.stats.recent, tokens: parsed.stats.tokens?.length === cache.length ? parsed.stats.tokens : [] };
  if (stats.nll.length !== cache.length) throw new PotStoreError(file, 'slot statistics do not match the cache');
  return { meta, cache, stats };
}

/** Atomic write: a crash at any point leaves either the old or the new snapshot, never a mix. */
export function writeFileAtomic(file: string, data: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

export function savePot(file: string, pot: StoredPot): void {
  writeFileAtomic(file, encodePot(pot));
}

/** Returns the stored pot, or a reason it cannot be used (absent, damaged, other model/version). */
export function loadPot(file: string, expected: PotExpectation): StoredPot | { reason: string } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return { reason: 'no saved pot' };
  }
  try {
    return decodePot(bytes, file, expected);
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

function decodeTag(raw: unknown): SlotSource | undefined {
  if (Array.isArray(raw) && typeof raw[0] === 'string' && typeof raw[1] === 'number') return raw[2] === 1 ? { file: raw[0], line: raw[1], outline: true } : { file: raw[0], line: raw[1] };
  return undefined;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
