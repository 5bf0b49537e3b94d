// Thin helpers over onnx-proto (protobufjs definitions of ONNX): accumulate nodes, initializers and graph I/O,
// then serialize one ModelProto. Large weights can go to a side file (model.onnx.data) because protobuf caps a
// message at 2 GB; onnxruntime resolves `location` relative to the model file when the session is opened by path.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

/** ONNX TensorProto.DataType codes for the element types the builder emits. */
export const ElemType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  float16: 10,
} as const;
export type ElemTypeName = keyof typeof ElemType;
const BYTES_PER_ELEMENT: Record<ElemTypeName, number> = { float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, float16: 2 };

/** ai.onnx opset the graphs target (Split/Reduce* take attributes as in opset 17) and the contrib domain version. */
export const ONNX_OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';
export const MS_OPSET = 1;
/** IR version 8 pairs with opset 17. */
const IR_VERSION = 8;

/** Node attribute values, tagged because ONNX distinguishes int from float. */
export type AttrValue =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { string: string };

export interface NodeOptions {
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

/** A dimension: a fixed size or a symbolic name ('q', 'past', ...). */
export type Dim = number | string;

interface PendingInitializer {
  name: string;
  elemType: ElemTypeName;
  dims: number[];
  bytes: Uint8Array;
}

/** External-data bytes in file order: write them one after another (see writeModelFiles). */
export interface ExternalData {
  /** File name the model refers to, relative to the model file's folder. */
  fileName: string;
  chunks: Uint8Array[];
  totalBytes: number;
}

export interface SerializedModel {
  model: Uint8Array;
  /** Present when some initializers were written to a side file. */
  externalData: ExternalData | null;
  /** Nodes in the graph as emitted (before onnxruntime's fusions). */
  nodeCount: number;
}

export interface SerializeOptions {
  /** Put initializers of at least this many bytes into the side file; Infinity keeps everything inline. */
  externalThresholdBytes: number;
  externalFileName: string;
}

/** Alignment of each external tensor: page-aligned offsets let onnxruntime map the file instead of copying it. */
const EXTERNAL_ALIGN = 4096;

function toAttribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: A.INT, i: value.int };
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: A.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: A.FLOATS, floats: value.floats };
  return { name, type: A.STRING, s: new TextEncoder().encode(value.string) };
}

function valueInfo(name: string, elemType: ElemTypeName, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ElemType[elemType],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Byte view of a typed array without copying. */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Accumulates one ONNX graph. Node names are the caller's (descriptive, e.g. `/model/layers.0/attn/q_proj/MatMul`);
 * each output is named `<node name>/output_<k>` unless the caller names it (graph outputs).
 */
export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: PendingInitializer[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  /** Small constants are de-duplicated by content so every layer shares one `/const/...` tensor. */
  private readonly constantsByKey = new Map<string, string>();

  constructor(readonly name: string) {}

  /** Nodes emitted so far (before onnxruntime's own fusions). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  input(name: string, elemType: ElemTypeName, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemTypeName, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Adds a node with `outputCount` outputs (or explicitly named outputs) and returns the output names. */
  nodeMulti(
    opType: string,
    nodeName: string,
    inputs: string[],
    outputs: number | string[],
    options: NodeOptions = {},
  ): string[] {
    if (this.names.has(nodeName)) throw new Error(`OnnxGraph ${this.name}: duplicate node name ${nodeName}`);
    this.names.add(nodeName);
    const outputNames =
      typeof outputs === 'number' ? Array.from({ length: outputs }, (_, k) => `${nodeName}/output_${k}`) : outputs;
    this.nodes.push({
      name: nodeName,
      opType,
      domain: options.domain ?? '',
      input: inputs,
      output: outputNames,
      attribute: Object.entries(options.attrs ?? {}).map(([key, value]) => toAttribute(key, value)),
    });
    return outputNames;
  }

  /** Adds a single-output node; `outputName` names a graph output directly. */
  node(opType: string, nodeName: string, inputs: string[], options: NodeOptions = {}, outputName?: string): string {
    return this.nodeMulti(opType, nodeName, inputs, outputName ? [outputName] : 1, options)[0];
  }

  initializer(name: string, elemType: ElemTypeName, dims: number[], data: ArrayBufferView): string {
    if (this.names.has(name)) throw new Error(`OnnxGraph ${this.name}: duplicate initializer name ${name}`);
    this.names.add(name);
    const count = dims.reduce((a, b) => a * b, 1);
    const bytes = bytesOf(data);
    const expectedBytes = count * BYTES_PER_ELEMENT[elemType];
    if (bytes.byteLength !== expectedBytes) {
      throw new Error(`OnnxGraph ${this.name}: initializer ${name} has ${bytes.byteLength} bytes, expected ${expectedBytes} for ${elemType}[${dims.join(',')}]`);
    }
    this.initializers.push({ name, elemType, dims, bytes });
    return name;
  }

  /** A shared int64 constant (shapes, axes, slice bounds). */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    return this.sharedConstant('int64', dims, values, () => BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** A shared float32 constant (scales, epsilons, RoPE frequencies). */
  constFloat(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    return this.sharedConstant('float32', dims, Array.from(values), () => Float32Array.from(values));
  }

  private sharedConstant(elemType: ElemTypeName, dims: number[], values: number[], make: () => ArrayBufferView): string {
    const key = `${elemType}|${dims.join('x')}|${values.join(',')}`;
    const existing = this.constantsByKey.get(key);
    if (existing) return existing;
    const shown = values.length <= 8 ? values.join('_') : `n${this.constantsByKey.size}`;
    const name = `/const/${elemType}/${dims.join('x') || 'scalar'}/${shown}`;
    this.initializer(name, elemType, dims, make());
    this.constantsByKey.set(key, name);
    return name;
  }

  serialize(options: SerializeOptions = { externalThresholdBytes: Infinity, externalFileName: 'model.onnx.data' }): SerializedModel {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const initializer: onnx.ITensorProto[] = this.initializers.map((init) => {
      const tensor: onnx.ITensorProto = { name: init.name, dataType: ElemType[init.elemType], dims: init.dims };
      if (init.bytes.byteLength < options.externalThresholdBytes) return { ...tensor, rawData: init.bytes };
      const padding = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
      if (padding) chunks.push(new Uint8Array(padding));
      offset += padding;
      chunks.push(init.bytes);
      const entry = {
        ...tensor,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: options.externalFileName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(init.bytes.byteLength) },
        ],
      };
      offset += init.bytes.byteLength;
      return entry;
    });
    const model = onnx.ModelProto.encode({
      irVersion: IR_VERSION,
      producerName: 'repopot',
      opsetImport: [
        { domain: '', version: ONNX_OPSET },
        { domain: MS_DOMAIN, version: MS_OPSET },
      ],
      graph: { name: this.name, node: this.nodes, initializer, input: this.inputs, output: this.outputs },
    }).finish();
    return {
      model,
      externalData: chunks.length ? { fileName: options.externalFileName, chunks, totalBytes: offset } : null,
      nodeCount: this.nodes.length,
    };
  }
}

/**
 * Writes `model.onnx` (and its side file next to it, under the name the model refers to).
 * Chunks are streamed so a 2 GB weight file never has to exist as one buffer.
 */
export function writeModelFiles(serialized: SerializedModel, modelPath: string): void {
  fs.writeFileSync(modelPath, serialized.model);
  if (!serialized.externalData) return;
  const dataPath = path.join(path.dirname(modelPath), serialized.externalData.fileName);
  const fd = fs.openSync(dataPath, 'w');
  try {
    for (const chunk of serialized.externalData.chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += fs.writeSync(fd, chunk, written, chunk.byteLength - written);
    }
  } finally {
    fs.closeSync(fd);
  }
}
