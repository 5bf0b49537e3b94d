// GGUF v3 for Llama-family models, so llama.cpp can run the very same weights our engine runs: the writer
// (ggufWriter.ts, which describes the layout), the header reader (ggufReader.ts), the Q8_0/Q4_0 quantizers
// (ggufQuantize.ts) and the format's constants (ggufFormat.ts). This module is their public face.

export { GGUF_MAGIC, GGUF_VERSION, GGUF_ALIGNMENT, GgmlType, QK, ggmlTypeForWeightFormat, ggmlTensorBytes, type GgmlTypeName } from './ggufFormat';
export { quantizeQ8_0, quantizeQ4_0, dequantizeQ8_0, dequantizeQ4_0 } from './ggufQuantize';
export {
  llamaCppTensorName,
  permuteForInterleavedRope,
  fakeSpmVocab,
  llamaCppArchitecture,
  writeGgufModel,
  type GgufValue,
  type GgufWriteOptions,
  type GgufWriteResult,
} from './ggufWriter';
export { readGgufHeader, readGgufTensorBytes, type GgufReadValue, type GgufTensorInfo, type GgufHeader } from './ggufReader';
