// The GGUF v3 reader: header, metadata and tensor infos, and one tensor's bytes (tests and sanity checks).

import { closeSync, openSync, readSync } from 'node:fs';
import { GGUF_ALIGNMENT, GGUF_MAGIC, ValueType, alignUp } from './ggufFormat.js';

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
  const fixed = <T>(size: number, read: (offset: number) => T): T => {
    const v = read(pos);
    pos += size;
    return v;
  };
  const u32 = (): number => fixed(4, (o) => buffer.readUInt32LE(o));
  const u64 = (): bigint => fixed(8, (o) => buffer.readBigUInt64LE(o));
  const str = (): string => {
    const length = Number(u64());
    const s = buffer.toString('utf8', pos, pos + length);
    pos += length;
    return s;
  };
  const scalar = (type: number): GgufReadValue => {
    switch (type) {
      case ValueType.UINT8:
        return fixed(1, (o) => buffer.readUInt8(o));
      case ValueType.INT8:
        return fixed(1, (o) => buffer.readInt8(o));
      case ValueType.UINT16:
        return fixed(2, (o) => buffer.readUInt16LE(o));
      case ValueType.INT16:
        return fixed(2, (o) => buffer.readInt16LE(o));
      case ValueType.UINT32:
        return u32();
      case ValueType.INT32:
        return fixed(4, (o) => buffer.readInt32LE(o));
      case ValueType.FLOAT32:
        return fixed(4, (o) => buffer.readFloatLE(o));
      case ValueType.BOOL:
        return fixed(1, (o) => buffer.readUInt8(o) !== 0);
      case ValueType.STRING:
        return str();
      case ValueType.UINT64:
        return u64();
      case ValueType.INT64:
        return fixed(8, (o) => buffer.readBigInt64LE(o));
      case ValueType.FLOAT64:
        return fixed(8, (o) => buffer.readDoubleLE(o));
      case ValueType.ARRAY: {
        const itemType = u32();
        const count = Number(u64());
        const items: GgufReadValue[] = [];
        for (let i = 0; i < count; i++) items.push(scalar(itemType));
        return items;
      }
      default:
        throw new Error(`GGUF: unknown value type ${type} at byte ${pos}`);
    }
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
