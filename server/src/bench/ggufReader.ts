// The GGUF v3 reader: header, metadata and tensor infos, and one tensor's bytes (tests and sanity checks).

import { closeSync, openSync, readSync } from 'node:fs';
import { GGUF_ALIGNMENT, GGUF_MAGIC, ValueType, alignUp } from './ggufFormat';

export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: number;
  /** Absolute file offset of the tensor's data. */
  fileOffset: number;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufReadValue>;
  tensors: GgufTensorInfo[];
  dataStart: number;
}

/** The value types of a fixed size: bytes, and how one is read at an offset. */
const FIXED_SIZE = new Map<number, [number, (buffer: Buffer, offset: number) => GgufReadValue]>([
  [ValueType.UINT8, [1, (b, o) => b.readUInt8(o)]],
  [ValueType.INT8, [1, (b, o) => b.readInt8(o)]],
  [ValueType.UINT16, [2, (b, o) => b.readUInt16LE(o)]],
  [ValueType.INT16, [2, (b, o) => b.readInt16LE(o)]],
  [ValueType.UINT32, [4, (b, o) => b.readUInt32LE(o)]],
  [ValueType.INT32, [4, (b, o) => b.readInt32LE(o)]],
  [ValueType.FLOAT32, [4, (b, o) => b.readFloatLE(o)]],
  [ValueType.BOOL, [1, (b, o) => b.readUInt8(o) !== 0]],
  [ValueType.UINT64, [8, (b, o) => b.readBigUInt64LE(o)]],
  [ValueType.INT64, [8, (b, o) => b.readBigInt64LE(o)]],
  [ValueType.FLOAT64, [8, (b, o) => b.readDoubleLE(o)]],
]);

/** Parses a GGUF file's header. Reads the whole header into memory (the tensor data is not touched). */
export function readGgufHeader(path: string, maxHeaderBytes = 64 << 20): GgufHeader {
  const fd = openSync(path, 'r');
  let buffer: Buffer;
  try {
    buffer = Buffer.alloc(maxHeaderBytes);
    const read = readSync(fd, buffer, 0, maxHeaderBytes, 0);
    buffer = buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
  let pos = 0;
  /** Reads a fixed-size value at the cursor and moves past it. */
  const fixed = (type: number): GgufReadValue => {
    const [size, read] = FIXED_SIZE.get(type)!;
    const v = read(buffer, pos);
    pos += size;
    return v;
  };
  const u32 = (): number => fixed(ValueType.UINT32) as number;
  const u64 = (): bigint => fixed(ValueType.UINT64) as bigint;
  const str = (): string => {
    const length = Number(u64());
    const s = buffer.toString('utf8', pos, pos + length);
    pos += length;
    return s;
  };
  const scalar = (type: number): GgufReadValue => {
    if (FIXED_SIZE.has(type)) return fixed(type);
    if (type === ValueType.STRING) return str();
    if (type !== ValueType.ARRAY) throw new Error(`GGUF: unknown value type ${type} at byte ${pos}`);
    const itemType = u32();
    const count = Number(u64());
    const items: GgufReadValue[] = [];
    for (let i = 0; i < count; i++) items.push(scalar(itemType));
    return items;
  };
  if (u32() !== GGUF_MAGIC) throw new Error(`${path} is not a GGUF file`);
  const version = u32();
  const tensorCount = Number(u64());
  const kvCount = Number(u64());
  const metadata = new Map<string, GgufReadValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    metadata.set(key, scalar(u32()));
  }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(Number(u64()));
    infos.push({ name, dims, type: u32(), offset: Number(u64()) });
  }
  const alignment = metadata.get('general.alignment');
  const dataStart = alignUp(pos, typeof alignment === 'number' ? alignment : GGUF_ALIGNMENT);
  return {
    version,
    metadata,
    tensors: infos.map((t) => ({ name: t.name, dims: t.dims, type: t.type, fileOffset: dataStart + t.offset })),
    dataStart,
  };
}

/** Reads one tensor's raw bytes (tests: dequantize and compare). */
export function readGgufTensorBytes(path: string, tensor: GgufTensorInfo, bytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(bytes);
    readSync(fd, out, 0, bytes, tensor.fileOffset);
    return out;
  } finally {
    closeSync(fd);
  }
}
