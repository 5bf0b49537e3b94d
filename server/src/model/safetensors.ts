// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
//   u64 little-endian N | N bytes of JSON header | raw little-endian tensor bytes
// The header maps names to {dtype, shape, data_offsets: [begin, end)} relative to the end of the header.
// Reading is per tensor with positioned reads straight into the fp32 destination (16-bit formats go through a
// bounded scratch buffer), so a multi-GB checkpoint never exists twice in memory.
import { randomBytes, type Hash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { WeightTensor, Weights } from './config';
import { ModelImportError, describeError } from './errors';
import { throwIfAborted } from '../util/abort';
import { float32ToBf16Bits, float32ToFp16Bits, widenBf16, widenFp16 } from './halfFloat';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
const bytesPerElement: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Size of the length prefix plus JSON header: where tensor data starts. */
  dataStart: number;
}

/** The largest header we accept; real ones are a few hundred KiB. Guards against reading garbage as a length. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Chunk size for reads and conversions; bounds the scratch memory. */
const CHUNK_BYTES = 16 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function statOrThrow(file: string): Promise<Stats> {
  try {
    return await fsp.stat(file);
  } catch (err) {
    throw new ModelImportError(file, `cannot read safetensors file (${describeError(err)})`, { cause: err });
  }
}

async function readExactly(handle: fsp.FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new ModelImportError(file, `truncated: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Parses and validates the header of an open safetensors file (offsets, sizes, dtypes). */
async function readHeaderFrom(handle: fsp.FileHandle, file: string, fileSize: number): Promise<SafetensorsHeader> {
  if (fileSize < 8) throw new ModelImportError(file, `truncated: ${fileSize} bytes is too short for a safetensors header`);
  const prefix = new Uint8Array(8);
  await readExactly(handle, prefix, 0, file);
  const headerLength = Number(Buffer.from(prefix).readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES) {
    throw new ModelImportError(file, `not a safetensors file (header length ${headerLength} is implausible)`);
  }
  if (8 + headerLength > fileSize) {
    throw new ModelImportError(file, `truncated: header of ${headerLength} bytes runs past the end of the ${fileSize}-byte file`);
  }
  const headerBytes = new Uint8Array(headerLength);
  await readExactly(handle, headerBytes, 8, file);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(headerBytes).toString('utf8'));
  } catch (err) {
    throw new ModelImportError(file, `not a safetensors file (header is not JSON: ${describeError(err)})`, { cause: err });
  }
  if (!isRecord(json)) throw new ModelImportError(file, 'not a safetensors file (header is not a JSON object)');

  const dataStart = 8 + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (isRecord(value)) metadata = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
      continue;
    }
    if (!isRecord(value)) throw new ModelImportError(file, `tensor "${name}" has a malformed header entry`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') throw new ModelImportError(file, `tensor "${name}" has no dtype`);
    if (!(dtype in bytesPerElement)) {
      throw new ModelImportError(file, `tensor "${name}" has unsupported dtype ${dtype} (supported: F32, F16, BF16)`);
    }
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isInteger(d) && d >= 0)) {
      throw new ModelImportError(file, `tensor "${name}" has a malformed shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o): o is number => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]
    ) {
      throw new ModelImportError(file, `tensor "${name}" has malformed data_offsets ${JSON.stringify(offsets)}`);
    }
    const typedDtype = dtype as SafetensorsDtype;
    const expectedBytes = shape.reduce((a, b) => a * b, 1) * bytesPerElement[typedDtype];
    if (offsets[1] - offsets[0] !== expectedBytes) {
      throw new ModelImportError(
        file,
        `tensor "${name}" spans ${offsets[1] - offsets[0]} bytes but ${typedDtype} ${JSON.stringify(shape)} needs ${expectedBytes}`,
      );
    }
    const begin = dataStart + offsets[0];
    const end = dataStart + offsets[1];
    if (end > fileSize) {
      throw new ModelImportError(file, `truncated: tensor "${name}" ends at byte ${end} but the file has ${fileSize} bytes`);
    }
    entries.set(name, { name, dtype: typedDtype, shape, begin, end });
  }
  return { file, entries, metadata, dataStart };
}

/** Reads and validates just the header of a safetensors file. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const stats = await statOrThrow(file);
  const handle = await fsp.open(file, 'r');
  try {
    return await readHeaderFrom(handle, file, stats.size);
  } finally {
    await handle.close();
  }
}

export interface ReadTensorsOptions {
  /** Only these tensors are read (others are skipped); default all. */
  names?: ReadonlySet<string>;
  /** Fed the header bytes and then every tensor's bytes in file order (used for the model's cache key). */
  hash?: Hash;
  signal?: AbortSignal;
  /** Tensors are added here (lets shards accumulate into one map). */
  into?: Weights;
}

/** Reads one tensor's bytes from `handle` into a new fp32 array, widening 16-bit formats chunk by chunk. */
async function readTensor(handle: fsp.FileHandle, entry: SafetensorsEntry, file: string, hash?: Hash): Promise<WeightTensor> {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  if (entry.dtype === 'F32') {
    // Little-endian on disk and on every platform Node runs on, so bytes go straight into the destination.
    const bytes = new Uint8Array(data.buffer);
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + CHUNK_BYTES));
      await readExactly(handle, chunk, entry.begin + offset, file);
      hash?.update(chunk);
    }
  } else {
    const widen = entry.dtype === 'F16' ? widenFp16 : widenBf16;
    const scratch = new Uint16Array(Math.min(count, CHUNK_BYTES / 2));
    const scratchBytes = new Uint8Array(scratch.buffer);
    for (let done = 0; done < count; done += scratch.length) {
      const n = Math.min(scratch.length, count - done);
      const chunk = scratchBytes.subarray(0, n * 2);
      await readExactly(handle, chunk, entry.begin + done * 2, file);
      hash?.update(chunk);
      widen(scratch.subarray(0, n), data, done);
    }
  }
  return { shape: [...entry.shape], data };
}

/** Reads the tensors of one safetensors file as fp32. */
export async function readSafetensors(file: string, options: ReadTensorsOptions = {}): Promise<Weights> {
  const stats = await statOrThrow(file);
  const handle = await fsp.open(file, 'r');
  const weights: Weights = options.into ?? new Map();
  try {
    const header = await readHeaderFrom(handle, file, stats.size);
    if (options.hash) {
      const headerBytes = new Uint8Array(header.dataStart);
      await readExactly(handle, headerBytes, 0, file);
      options.hash.update(headerBytes);
    }
    const wanted = [...header.entries.values()]
      .filter((e) => !options.names || options.names.has(e.name))
      .sort((a, b) => a.begin - b.begin); // file order: sequential reads, deterministic hash
    for (const entry of wanted) {
      throwIfAborted(options.signal);
      weights.set(entry.name, await readTensor(handle, entry, file, options.hash));
    }
    return weights;
  } finally {
    await handle.close();
  }
}

export const SHARD_INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/**
 * Lists the safetensors files of a Hugging Face model folder: the shards named by model.safetensors.index.json
 * (in index order), or model.safetensors. Returns undefined when the folder has neither.
 */
export async function listSafetensorsFiles(dir: string): Promise<string[] | undefined> {
  const indexPath = path.join(dir, SHARD_INDEX_FILE);
  let indexText: string | undefined;
  try {
    indexText = await fsp.readFile(indexPath, 'utf8');
  } catch {
    indexText = undefined;
  }
  if (indexText !== undefined) {
    let index: unknown;
    try {
      index = JSON.parse(indexText);
    } catch (err) {
      throw new ModelImportError(indexPath, `is not valid JSON (${describeError(err)})`, { cause: err });
    }
    if (!isRecord(index) || !isRecord(index.weight_map)) {
      throw new ModelImportError(indexPath, 'has no "weight_map" object');
    }
    const shards = new Set<string>();
    for (const [tensor, shard] of Object.entries(index.weight_map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
        throw new ModelImportError(indexPath, `weight_map entry for "${tensor}" is not a file name in the folder`);
      }
      shards.add(shard);
    }
    const files = [...shards].sort().map((s) => path.join(dir, s));
    for (const f of files) {
      try {
        await fsp.access(f);
      } catch {
        throw new ModelImportError(f, `shard listed in ${SHARD_INDEX_FILE} is missing`);
      }
    }
    return files;
  }
  const single = path.join(dir, SINGLE_FILE);
  try {
    await fsp.access(single);
    return [single];
  } catch {
    return undefined;
  }
}

/** Encodes one tensor's values in `dtype` as little-endian bytes. */
function encodeTensor(data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const toBits = dtype === 'F16' ? float32ToFp16Bits : float32ToBf16Bits;
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toBits(data[i]);
  return new Uint8Array(out.buffer);
}

/**
 * Writes tensors (fp32 in memory) as a safetensors file in `dtype`, atomically: a temp file in the same folder
 * is written, flushed and renamed over `file`, so readers never see a half-written checkpoint.
 */
export async function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, WeightTensor>,
  dtype: SafetensorsDtype,
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) {
      throw new ModelImportError(file, `tensor "${name}" has ${tensor.data.length} values but shape ${JSON.stringify(tensor.shape)}`);
    }
    const bytes = count * bytesPerElement[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the header with spaces to a multiple of 8 so tensor data is aligned (as the reference writer does).
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tempFile = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fsp.open(tempFile, 'w');
  try {
    await handle.write(prefix);
    await handle.write(headerBytes);
    for (const tensor of tensors.values()) {
      // Encode in slices so fp16/bf16 conversion of a large tensor needs only a bounded extra buffer.
      const sliceValues = CHUNK_BYTES / 4;
      for (let start = 0; start < tensor.data.length; start += sliceValues) {
        const bytes = encodeTensor(tensor.data.subarray(start, start + sliceValues), dtype);
        await handle.write(bytes);
      }
    }
    await handle.sync();
    await handle.close();
    await fsp.rename(tempFile, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(tempFile, { force: true });
    throw err;
  }
}
