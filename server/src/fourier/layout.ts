// Which head dimensions the Fourier tier approximates: the calibration's choice, stored beside the model
// as `fourier.json` (like steering.safetensors), with the numbers that justified it.
//
// Keys are chosen by RoPE pair (dims i and i + headDim/2 rotate together), values by single dimension:
// a key pair is either exact in both halves or spectral in both, so the exact half of a pair never
// depends on an approximated partner when the pair is rotated (see engine/fourierTier.ts).

import fs from 'node:fs';
import path from 'node:path';

export const FOURIER_FILE = 'fourier.json';
export const FOURIER_FORMAT_VERSION = 1;

export interface FourierShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

/** Per-unit and per-head numbers behind the choice (relative attention-output errors). */
export const CALIBRATION_OBJECTIVES = ['code', 'lookup'] as const;
export type CalibrationObjective = (typeof CALIBRATION_OBJECTIVES)[number];

/**
 * Share of K/V floats approximated and spectrum length per objective, from the measurements in docs/benchmarks.md
 * (Fourier tier). Both at 1/16 of the horizon: half the coefficient bytes of 1/8 for a little more error (stories260K at
 * budget 128: 2.29× the tokens per byte instead of 1.72×, loss +1.2% instead of +1.4%). Scored on lookups, 60% of the
 * floats: at 75% the ranking by single units stops predicting the joint error (worse than taking dims by index) and
 * lookups through the tier lose 8–15 points.
 */
export const CALIBRATION_DEFAULTS: Readonly<Record<CalibrationObjective, { share: number; coefficientRatio: number }>> = {
  code: { share: 0.75, coefficientRatio: 0.0625 },
  lookup: { share: 0.6, coefficientRatio: 0.0625 },
};

export interface FourierEvidence {
  /** Held-out sequences and their token lengths. */
  sequences: { source: string; tokens: number }[];
  sink: number;
  window: number;
  queryRows: number;
  /** What the scored rows were: the last rows of code ('code'), or the question and answer after a repository ('lookup'). */
  objective?: CalibrationObjective;
  /** errors[layer][head].keyPairs[i] / .valueDims[d]: mean relative attention-output error with only that unit approximated. */
  unitErrors: { keyPairs: number[]; valueDims: number[] }[][];
  /** Relative attention-output error per (layer, head) with the chosen set approximated together. */
  chosenError: number[][];
  /** The same with as many units picked by index (dims 0.. first) instead of by error: what calibration buys. */
  byIndexError: number[][];
  /** Mean chosen error at other spectrum lengths (coefficient ratio → error): how the length was picked. */
  ratioSweep: { ratio: number; error: number }[];
}

export interface FourierLayout {
  format: 'repopot-fourier';
  version: number;
  shape: FourierShape;
  /** Spectrum length as a share of the tier's horizon (coefficients = ratio × horizon). */
  coefficientRatio: number;
  /** Share of all K/V floats per slot that was asked for (ranked over the whole model). */
  share: number;
  /** keyPairs[layer][head]: insensitive pair indices i < headDim/2 (dims i and i + headDim/2). */
  keyPairs: number[][][];
  /** valueDims[layer][head]: insensitive value dimensions. */
  valueDims: number[][][];
  evidence?: FourierEvidence;
  createdAt?: string;
  model?: string;
  /** The weights it was calibrated on (loadModel's weightsHash): a retrained model needs a new calibration. */
  weightsHash?: string;
}

/** A layout that approximates nothing (the tier then equals the exact cache). */
export function emptyLayout(shape: FourierShape, coefficientRatio = 0.125): FourierLayout {
  const none = () => Array.from({ length: shape.numLayers }, () => Array.from({ length: shape.numKvHeads }, () => [] as number[]));
  return { format: 'repopot-fourier', version: FOURIER_FORMAT_VERSION, shape, coefficientRatio, share: 0, keyPairs: none(), valueDims: none() };
}

/** Every key pair and value dim approximated (tests, worst case). */
export function fullLayout(shape: FourierShape, coefficientRatio = 0.125): FourierLayout {
  const half = shape.headDim / 2;
  const all = (n: number) => Array.from({ length: shape.numLayers }, () => Array.from({ length: shape.numKvHeads }, () => Array.from({ length: n }, (_, i) => i)));
  return { format: 'repopot-fourier', version: FOURIER_FORMAT_VERSION, shape, coefficientRatio, share: 1, keyPairs: all(half), valueDims: all(shape.headDim) };
}

/** Row offsets (head·headDim + dim) of the approximated key dims of one layer, both halves of each pair, ascending. */
export function keyOffsets(layout: FourierLayout, layer: number): Int32Array {
  const { headDim } = layout.shape;
  const half = headDim / 2;
  const out: number[] = [];
  layout.keyPairs[layer].forEach((pairs, h) => {
    for (const i of pairs) out.push(h * headDim + i, h * headDim + i + half);
  });
  return Int32Array.from(out.sort((a, b) => a - b));
}

export function valueOffsets(layout: FourierLayout, layer: number): Int32Array {
  const { headDim } = layout.shape;
  const out: number[] = [];
  layout.valueDims[layer].forEach((dims, h) => {
    for (const d of dims) out.push(h * headDim + d);
  });
  return Int32Array.from(out.sort((a, b) => a - b));
}

export function checkLayout(layout: FourierLayout, shape: FourierShape, source = 'fourier layout'): FourierLayout {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  if (layout.format !== 'repopot-fourier') fail('not a RepoPot Fourier calibration');
  if (layout.version !== FOURIER_FORMAT_VERSION) fail(`format version ${layout.version}, this build reads ${FOURIER_FORMAT_VERSION}`);
  const s = layout.shape;
  if (s.numLayers !== shape.numLayers || s.numKvHeads !== shape.numKvHeads || s.headDim !== shape.headDim) {
    fail(`calibrated for ${JSON.stringify(s)}, the model has ${JSON.stringify({ numLayers: shape.numLayers, numKvHeads: shape.numKvHeads, headDim: shape.headDim })}`);
  }
  if (!(layout.coefficientRatio > 0 && layout.coefficientRatio <= 1)) fail(`coefficientRatio ${layout.coefficientRatio} is outside (0, 1]`);
  const half = s.headDim / 2;
  for (const [name, table, limit] of [['keyPairs', layout.keyPairs, half], ['valueDims', layout.valueDims, s.headDim]] as const) {
    if (table.length !== s.numLayers) fail(`${name} has ${table.length} layers`);
    table.forEach((heads, l) => {
      if (heads.length !== s.numKvHeads) fail(`${name}[${l}] has ${heads.length} heads`);
      for (const units of heads) for (const u of units) if (!Number.isInteger(u) || u < 0 || u >= limit) fail(`${name}[${l}] names unit ${u} (0..${limit - 1})`);
    });
  }
  return layout;
}

export function saveLayout(file: string, layout: FourierLayout): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(layout, null, 1) + '\n');
  fs.renameSync(tmp, file);
}

export function loadLayout(file: string, shape: FourierShape): FourierLayout {
  let parsed: FourierLayout;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as FourierLayout;
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  return checkLayout(parsed, shape, file);
}

/**
 * `fourier.json` beside the model, when calibrated. With `weightsHash`, a calibration made on other weights
 * (the model was retrained since) is an error: its choice of dimensions no longer holds.
 */
export function findLayout(modelDir: string | undefined, shape: FourierShape, weightsHash?: string): FourierLayout | undefined {
  if (!modelDir) return undefined;
  const file = path.join(modelDir, FOURIER_FILE);
  if (!fs.existsSync(file)) return undefined;
  const layout = loadLayout(file, shape);
  if (weightsHash && layout.weightsHash && layout.weightsHash !== weightsHash) {
    throw new Error(`${file}: calibrated for other weights (the model changed since); run "repopot fourier calibrate --model ${modelDir}" again`);
  }
  return layout;
}

/** Share of all K/V floats per slot that the layout approximates. */
export function approximatedShare(layout: FourierLayout): number {
  const { numLayers, numKvHeads, headDim } = layout.shape;
  let n = 0;
  for (let l = 0; l < numLayers; l++) n += keyOffsets(layout, l).length + valueOffsets(layout, l).length;
  return n / (numLayers * numKvHeads * headDim * 2);
}
