// Correctness checks of the engine, shared by `repopot selftest` and the test suite.
// Each returns {check, maxAbsDiff, pass}; a check that cannot run (missing ../shared) says why.

import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { Engine, type EngineModel } from '../engine/engine';
import type { Architecture, ModelConfig } from '../model/config';
import { randomWeights, tinyConfig } from '../model/randomWeights';
import { referenceForward } from '../reference/forward';
import { argmax } from '../engine/sampling';
import { MASK_NEG } from '../graph/contract';
import { sampleTokens } from '../util/random';

export { sampleTokens } from '../util/random';

export interface CheckResult {
  check: string;
  maxAbsDiff: number;
  pass: boolean;
  skipped?: string;
  detail?: string;
}

export const FP32_TOLERANCE = 1e-4;
export const STORIES_EXPECTED = 'Once upon a time, there was a little girl named Lily';

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}


export function randomModel(architecture: Architecture, overrides: Partial<ModelConfig> = {}, seed = 1): EngineModel {
  const config = tinyConfig(architecture, overrides);
  return { config, weights: randomWeights(config, seed), weightsHash: `random:${JSON.stringify(config)}:${seed}` };
}

/** Builds engines in a throwaway graph cache so checks never depend on (or pollute) the user's. */
export function scratchCacheDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-selftest-'));
}

/**
 * (a) ONNX logits equal the TypeScript reference for full prefill, chunked prefill and
 * token-by-token decode with the cache.
 */
export async function checkReference(architecture: Architecture, cacheDir = scratchCacheDir()): Promise<CheckResult> {
  const model = randomModel(architecture);
  const { config, weights } = model;
  const engine = await Engine.fromModel(model, { cacheDir });
  try {
    const tokens = sampleTokens(12, config.vocabSize, 7);
    const positions = tokens.map((_, i) => i);
    const expected = referenceForward(config, weights, { tokens, positions }).logits;
    const vocab = config.vocabSize;
    let worst = 0;

    const full = await engine.forward(engine.newCache(), tokens, { logits: 'all' });
    worst = Math.max(worst, maxAbsDiff(full.logits, expected));

    const chunked = engine.newCache();
    const chunkLogits = new Float32Array(tokens.length * vocab);
    for (const [from, to] of [[0, 5], [5, 9], [9, 12]] as const) {
      const r = await engine.forward(chunked, tokens.slice(from, to), { logits: 'all' });
      chunkLogits.set(r.logits, from * vocab);
    }
    worst = Math.max(worst, maxAbsDiff(chunkLogits, expected));

    const stepwise = engine.newCache();
    const stepLogits = new Float32Array(tokens.length * vocab);
    for (let i = 0; i < tokens.length; i++) {
      const r = await engine.forward(stepwise, [tokens[i]], { logits: 'last' });
      stepLogits.set(r.logits, i * vocab);
    }
    worst = Math.max(worst, maxAbsDiff(stepLogits, expected));
    return { check: `reference-${architecture}`, maxAbsDiff: worst, pass: worst <= FP32_TOLERANCE };
  } finally {
    await engine.dispose();
  }
}

/**
 * (b) Cache edits equal recomputation: remove arbitrary slots, re-position the kept keys to
 * contiguous positions (CR-RoPE), then the next tokens' logits equal a fresh prefill of only the
 * kept tokens at those positions.
 *  - one layer: any removal is exact (layer-0 K/V depend only on token and position);
 *  - several layers: exact when the kept tokens never attended to the removed ones, so the cache
 *    is built with a mask that hides removed tokens from kept ones, kept tokens at shifted positions
 *    (RoPE is relative: only the keys' rotation remembers the shift) and removed ones far away.
 */
export async function checkCacheEdit(cacheDir = scratchCacheDir()): Promise<CheckResult> {
  const oneLayer = await cacheEditCase(randomModel('qwen2', { numLayers: 1 }, 3), cacheDir, false);
  const deep = await cacheEditCase(randomModel('llama', { numLayers: 3 }, 4), cacheDir, true);
  const worst = Math.max(oneLayer.diff, deep.diff);
  return { check: 'cache-edit', maxAbsDiff: worst, pass: worst <= FP32_TOLERANCE && oneLayer.ok && deep.ok };
}

async function cacheEditCase(model: EngineModel, cacheDir: string, isolate: boolean): Promise<{ diff: number; ok: boolean }> {
  const engine = await Engine.fromModel(model, { cacheDir });
  try {
    const vocab = model.config.vocabSize;
    const tokens = sampleTokens(24, vocab, 11);
    const removed = new Set([0, 3, 4, 5, 10, 17, 23]);
    const kept = tokens.filter((_, i) => !removed.has(i));
    const probe = sampleTokens(3, vocab, 5);

    const edited = engine.newCache();
    if (isolate) {
      const total = tokens.length;
      const positions: number[] = [];
      let nextKept = 37;
      tokens.forEach((_, i) => positions.push(removed.has(i) ? 1000 + i : nextKept++));
      const mask = new Float32Array(total * total).fill(MASK_NEG);
      for (let r = 0; r < total; r++) {
        for (let c = 0; c <= r; c++) if (removed.has(r) || !removed.has(c)) mask[r * total + c] = 0;
      }
      await engine.forward(edited, tokens, { positions, mask });
    } else {
      await engine.prefill(edited, tokens);
    }
    edited.remove(removed);
    edited.compactPositions(0);
    const afterEdit = await engine.forward(edited, probe, { logits: 'all' });

    const fresh = engine.newCache();
    await engine.prefill(fresh, kept);
    const recomputed = await engine.forward(fresh, probe, { logits: 'all' });
    const positionsOk = edited.positions().every((p, i) => p === i);
    return { diff: maxAbsDiff(afterEdit.logits, recomputed.logits), ok: positionsOk && edited.length === kept.length + probe.length };
  } finally {
    await engine.dispose();
  }
}

export function sharedDir(): string {
  return process.env.REPOPOT_SHARED ?? path.resolve(__dirnameSafe(), '..', 'shared');
}

/** The project root: the folder holding package.json above this module (source or bundle). */
function __dirnameSafe(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** (c) Our builder vs onnxruntime-genai's export of the same weights. */
export async function checkOrtGenaiParity(): Promise<CheckResult> {
  const dir = path.join(sharedDir(), 'models', 'tiny-random-llama-ortgenai');
  if (!fs.existsSync(path.join(dir, 'model.onnx'))) return { check: 'parity-ortgenai', maxAbsDiff: NaN, pass: false, skipped: `${dir} is absent` };
  const { runOrtGenaiParity } = await import('../graph/ortgenaiImport');
  const r = await runOrtGenaiParity(dir);
  return { check: 'parity-ortgenai', maxAbsDiff: r.maxAbsDiff, pass: r.pass };
}

/** (d) The real pretrained stories260K: greedy from BOS tells the expected story. */
export async function checkStories260K(cacheDir = scratchCacheDir()): Promise<CheckResult> {
  const dir = path.join(sharedDir(), 'models', 'stories260K');
  if (!fs.existsSync(path.join(dir, 'stories260K.bin'))) return { check: 'stories260k', maxAbsDiff: NaN, pass: false, skipped: `${dir} is absent` };
  const engine = await Engine.load(dir, { cacheDir });
  try {
    const bos = engine.config.bosTokenId ?? 1;
    const cache = engine.newCache();
    const result = await engine.generate(cache, [bos], { maxTokens: 40 });
    // Logit parity of the first step against the reference forward, as the number this check reports.
    const reference = referenceForward(engine.config, engine.model.weights, { tokens: [bos], positions: [0] }).logits;
    const fresh = engine.newCache();
    const ours = await engine.forward(fresh, [bos], { logits: 'last' });
    const diff = maxAbsDiff(ours.logits, reference);
    const text = result.text.trimStart();
    return {
      check: 'stories260k',
      maxAbsDiff: diff,
      pass: text.startsWith(STORIES_EXPECTED) && diff <= FP32_TOLERANCE && argmax(ours.logits) === argmax(reference),
      detail: text,
    };
  } finally {
    await engine.dispose();
  }
}

export async function runAllChecks(onResult: (r: CheckResult) => void): Promise<CheckResult[]> {
  const cacheDir = scratchCacheDir();
  const results: CheckResult[] = [];
  const run = async (f: () => Promise<CheckResult>, name: string) => {
    let r: CheckResult;
    try {
      r = await f();
    } catch (error) {
      r = { check: name, maxAbsDiff: NaN, pass: false, detail: error instanceof Error ? error.message : String(error) };
    }
    results.push(r);
    onResult(r);
  };
  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) await run(() => checkReference(arch, cacheDir), `reference-${arch}`);
  await run(() => checkCacheEdit(cacheDir), 'cache-edit');
  await run(() => checkOrtGenaiParity(), 'parity-ortgenai');
  await run(() => checkStories260K(cacheDir), 'stories260k');
  fs.rmSync(cacheDir, { recursive: true, force: true });
  return results;
}
