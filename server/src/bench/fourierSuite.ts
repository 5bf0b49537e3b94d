// The `fourier` suite of `repopot bench distill`: the loss/size/speed measurements (fourierBench.ts),
// then — for models with a tokenizer — niah and lookup with `infinipot` and `infinipot+fourier` at the
// same bytes, and one summary line:
//   tokensPerByteVsPlain  slots the tier pot holds ÷ slots the plain pot holds, in the same bytes
//   accuracyVsPlain       niah/lookup accuracy, tier − plain, in points, at the worst stream length
//   lossIncrease          held-out NLL of the tier pot ÷ the exact pot with as many slots − 1
//   reconstructShare      rebuilding the whole tier ÷ (that + a question-and-answer's forward passes)
//   snapshotShrink        1 − tier snapshot bytes ÷ plain snapshot bytes of the same pot

import path from 'node:path';
import type { Engine } from '../engine/engine';
import { calibrate } from '../fourier/calibrate';
import { findLayout, type FourierLayout } from '../fourier/layout';
import { heldOutSequences } from '../bench/fourierHeldOut';
import { runFourierBench, benchSequences, defaultFourierBudget } from './fourierBench';
import { runLookup, runNiah, type DistillBenchOptions } from './distillBench';

type Emit = (line: Record<string, unknown>) => void;

export interface FourierSuiteOptions extends DistillBenchOptions {
  model?: string;
  continuation?: number;
  sequences?: number;
  /** Run niah and lookup too (needs a tokenizer). */
  retrieval?: boolean;
  log?: (message: string) => void;
}

/** fourier.json beside the model, or a calibration made now (random-weight shapes, read-only model folders). */
export async function layoutFor(engine: Engine, evalDir: string, log?: (m: string) => void): Promise<{ layout: FourierLayout; calibratedNow: boolean }> {
  const shape = { numLayers: engine.config.numLayers, numKvHeads: engine.config.numKvHeads, headDim: engine.config.headDim };
  let found: FourierLayout | undefined;
  try {
    found = findLayout(engine.model.dir, shape, engine.model.weightsHash);
  } catch (error) {
    log?.(`${(error as Error).message}: calibrating now instead`);
  }
  if (found) return { layout: found, calibratedNow: false };
  log?.(`no usable fourier.json beside the model: calibrating now`);
  const tokens = Math.min(256, engine.config.maxPositions);
  const sequences = engine.model.tokenizer
    ? heldOutSequences(engine.model.tokenizer, evalDir, 'calibration', 2, tokens)
    : benchSequences(engine, evalDir, 2, tokens, 'calibration');
  const window = Math.min(32, Math.floor(tokens / 8));
  return { layout: await calibrate(engine.config, engine.model.weights, sequences, { window }), calibratedNow: true };
}

export async function runFourierSuite(engine: Engine, o: FourierSuiteOptions, emit: Emit): Promise<void> {
  const { layout, calibratedNow } = o.fourierLayout ? { layout: o.fourierLayout, calibratedNow: false } : await layoutFor(engine, o.evalDir, o.log);
  const model = o.model ?? (engine.model.dir ? path.basename(engine.model.dir) : 'model');
  const budget = o.budgets?.[0] ?? defaultFourierBudget(engine);
  const summary = await runFourierBench(engine, { evalDir: o.evalDir, layout, budget, sequences: o.sequences, continuation: o.continuation, model, signal: o.signal }, emit);
  summary.calibratedNow = calibratedNow;
  const retrieval: Record<string, unknown> = {};
  if (o.retrieval !== false && engine.model.tokenizer) {
    const policies = ['infinipot', 'infinipot+fourier'];
    const lines: Record<string, unknown>[] = [];
    const capture: Emit = (line) => {
      lines.push(line);
      emit({ ...line, model });
    };
    await runNiah(engine, { ...o, suite: 'niah', policies, budgets: [budget], lengths: o.lengths ?? [2, 4], depths: o.depths ?? [0, 0.5, 1], trials: o.trials ?? 1, plotDir: undefined, fourierLayout: layout }, capture);
    // A calibration scored on lookups chose its dims on one half of the held-out packages: judge on the other half.
    const split = o.split ?? (layout.evidence?.objective === 'lookup' ? 'evaluation' : undefined);
    await runLookup(engine, { ...o, suite: 'lookup', policies, budgets: [budget], streamTokens: o.streamTokens ?? [Math.min(2048, engine.config.maxPositions)], limit: o.limit ?? 6, split, fourierLayout: layout }, capture);
    // Worst (most negative) tier − plain difference over every (suite, stream length).
    const cells = new Map<string, { plain?: number; tier?: number }>();
    for (const l of lines) {
      if (l.summary || typeof l.accuracy !== 'number') continue;
      const key = `${l.suite}/${l.streamTokens}`;
      const cell = cells.get(key) ?? {};
      // niah lines are per depth: summed here, averaged per length below.
      if (l.policy === 'infinipot') cell.plain = (cell.plain ?? 0) + l.accuracy;
      if (l.policy === 'infinipot+fourier') cell.tier = (cell.tier ?? 0) + l.accuracy;
      cells.set(key, cell);
    }
    let worst = Infinity;
    for (const [key, c] of cells) {
      const n = key.startsWith('niah') ? (o.depths ?? [0, 0.5, 1]).length : 1;
      const diff = (100 * ((c.tier ?? 0) - (c.plain ?? 0))) / n;
      retrieval[key] = { plain: (c.plain ?? 0) / n, tier: (c.tier ?? 0) / n };
      worst = Math.min(worst, diff);
    }
    summary.accuracyVsPlain = Number.isFinite(worst) ? worst : null;
    summary.retrieval = retrieval;
    summary.retrievalNote = `niah and lookup (${split ? `questions from the ${split} half of the held-out packages` : 'every held-out package'}): both pots score what the model can answer`;
  } else {
    summary.retrievalNote = engine.model.tokenizer ? 'skipped (--no-retrieval)' : 'no tokenizer (random-weight shape): loss only';
  }
  emit(summary);
}
