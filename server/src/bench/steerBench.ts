// `repopot bench steer`: one-shot KV-cache steering against a plain prompt and a step-by-step prompt.
//  1. sweep c_v × layer range on the TRAINING split (the only data used to tune), heatmap PNG;
//  2. with the best setting, evaluate plain | cot | steer on the held-out steering split and on the
//     held-out multi-hop questions of data/eval (records of type multihop-*).
// One JSON line per (set, mode), then a summary line per set with steerMinusPlain, steerMinusCot
// and decodeOverhead (steer vs plain decode ms/token; the edit itself costs no decode work).

import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { evalSetNames, exactMatch, loadEvalSet, median, promptKey } from '../eval/evalSet';
import { encodeExample, promptFormat, type PromptFormat, type SteeringFile, type SteeringPair } from '../steer/pairs';
import { applySteering, generateSteered, type SteerSettings } from '../steer/apply';
import { logProbOf } from '../engine/sampling';
import type { SteeringVectors } from '../steer/vectors';
import { heatmapPng } from './png';

export type SteerMode = 'plain' | 'cot' | 'steer';
export const STEER_MODES: readonly SteerMode[] = ['plain', 'cot', 'steer'];

export interface SteerQuestion {
  id: string;
  files: SteeringFile[];
  question: string;
  answer: string;
}

export interface SteerBenchOptions {
  vectors: SteeringVectors;
  /** Tuning questions (the training split: never the held-out ones). */
  train: readonly SteeringPair[];
  /** Held-out pairs for the preference-shift measurement (log-odds of trace vs bare completion). */
  heldoutPairs?: readonly SteeringPair[];
  /** Named held-out sets. */
  heldout: ReadonlyMap<string, readonly SteerQuestion[]>;
  cValues: number[];
  /** Layer ranges to sweep; default: all steerable layers, the lower half, the upper half. */
  layerRanges?: number[][];
  cKey: number;
  /** Fixed c_v (and layers): skips the sweep. */
  cValue?: number;
  layers?: number[];
  maxTokens: number;
  tuneLimit: number;
  limit?: number;
  plotFile?: string;
  signal?: AbortSignal;
}

export interface SteerTuning {
  cValue: number;
  layers: number[];
  trainAccuracy: number;
}

type Emit = (line: Record<string, unknown>) => void;

interface QuestionRun {
  correct: boolean;
  /** The output carried a reasoning trace before its answer (the behaviour steering induces). */
  traced: boolean;
  tokens: number;
  decodeMs: number;
  decodeTokens: number;
  latencyMs: number;
  skipped: boolean;
}

/** Held-out multi-hop questions of data/eval (trace/bare twins share a prompt: kept once). */
export function multihopQuestions(evalDir: string): SteerQuestion[] {
  const out = new Map<string, SteerQuestion>();
  for (const name of evalSetNames(evalDir)) {
    for (const r of loadEvalSet(path.join(evalDir, name))) {
      if (!r.type.startsWith('multihop')) continue;
      const key = promptKey(r);
      if (!out.has(key)) out.set(key, { id: r.id, files: r.files, question: r.question, answer: r.answer });
    }
  }
  return [...out.values()];
}

export function pairQuestions(pairs: readonly SteeringPair[]): SteerQuestion[] {
  return pairs.map((p) => ({ id: p.id, files: p.files, question: p.question, answer: p.answer }));
}

export function defaultLayerRanges(layers: readonly number[]): number[][] {
  const mid = Math.ceil(layers.length / 2);
  const ranges = [[...layers], layers.slice(0, mid), layers.slice(mid)].filter((r) => r.length > 0);
  const seen = new Set<string>();
  return ranges.filter((r) => !seen.has(r.join()) && seen.add(r.join()));
}

export function rangeLabel(layers: readonly number[]): string {
  return layers.length === 0 ? 'none' : `${layers[0]}-${layers[layers.length - 1]}`;
}

/** Runs one question in one mode from a fresh cache. */
async function runQuestion(engine: Engine, format: PromptFormat, q: SteerQuestion, mode: SteerMode, steer: SteerSettings | undefined, maxTokens: number, signal?: AbortSignal): Promise<QuestionRun> {
  const cotPrompt = encodeExample(engine.tokenizer, format.cotPrompt(q.files, q.question));
  const prompt = mode === 'cot' ? cotPrompt : encodeExample(engine.tokenizer, format.prompt(q.files, q.question));
  // Skipped in every mode alike when the longest (step-by-step) prompt and the answer do not fit.
  if (cotPrompt.length + maxTokens > engine.config.maxPositions) return { correct: false, traced: false, tokens: 0, decodeMs: 0, decodeTokens: 0, latencyMs: 0, skipped: true };
  const stamps: number[] = [];
  const started = performance.now();
  const options = { maxTokens, stop: format.stop, signal, onToken: () => stamps.push(performance.now()) };
  const cache = engine.newCache(prompt.length + maxTokens);
  const result = mode === 'steer' && steer ? await generateSteered(engine, cache, prompt, steer, options) : await engine.generate(cache, prompt, options);
  const latencyMs = performance.now() - started;
  const { answer, trace } = format.finalAnswer(result.text);
  // Decode cost: time between the first and the last generated token (prefill and the edit excluded).
  const decodeTokens = Math.max(0, stamps.length - 1);
  const decodeMs = decodeTokens > 0 ? stamps[stamps.length - 1] - stamps[0] : 0;
  return { correct: exactMatch(answer, q.answer), traced: trace !== undefined && trace.length > 0, tokens: result.tokens.length, decodeMs, decodeTokens, latencyMs, skipped: false };
}

interface ModeSummary {
  accuracy: number;
  traceRate: number;
  tokens: number;
  msPerToken: number;
  latencyMs: number;
  n: number;
  skipped: number;
}

class ModeTotals {
  correct = 0;
  traced = 0;
  tokens = 0;
  decodeMs = 0;
  decodeTokens = 0;
  latencyMs = 0;
  n = 0;
  skipped = 0;
  /** Decode ms/token of each question in order (NaN: skipped or under two tokens). */
  readonly perQuestion: number[] = [];

  add(r: QuestionRun): void {
    this.perQuestion.push(r.decodeTokens > 0 ? r.decodeMs / r.decodeTokens : NaN);
    if (r.skipped) {
      this.skipped++;
      return;
    }
    this.n++;
    if (r.correct) this.correct++;
    if (r.traced) this.traced++;
    this.tokens += r.tokens;
    this.decodeMs += r.decodeMs;
    this.decodeTokens += r.decodeTokens;
    this.latencyMs += r.latencyMs;
  }

  summary(): ModeSummary {
    const n = this.n;
    return { accuracy: n ? this.correct / n : NaN, traceRate: n ? this.traced / n : NaN, tokens: n ? this.tokens / n : NaN, msPerToken: this.decodeTokens ? this.decodeMs / this.decodeTokens : NaN, latencyMs: n ? this.latencyMs / n : NaN, n, skipped: this.skipped };
  }
}

async function runMode(engine: Engine, format: PromptFormat, questions: readonly SteerQuestion[], mode: SteerMode, steer: SteerSettings | undefined, o: SteerBenchOptions): Promise<ModeSummary> {
  const totals = new ModeTotals();
  for (const q of questions) totals.add(await runQuestion(engine, format, q, mode, steer, o.maxTokens, o.signal));
  return totals.summary();
}

/**
 * All modes per question, in an order that rotates from question to question, so that drift in
 * machine speed (thermal, GC, other load) falls on every mode alike: decodeOverhead compares them.
 */
async function runInterleaved(engine: Engine, format: PromptFormat, questions: readonly SteerQuestion[], steer: SteerSettings, o: SteerBenchOptions): Promise<{ summaries: Map<SteerMode, ModeSummary>; overheadMedian: number }> {
  const totals = new Map(STEER_MODES.map((m) => [m, new ModeTotals()] as const));
  for (const [i, q] of questions.entries()) {
    for (let k = 0; k < STEER_MODES.length; k++) {
      const mode = STEER_MODES[(i + k) % STEER_MODES.length];
      totals.get(mode)!.add(await runQuestion(engine, format, q, mode, mode === 'steer' ? steer : undefined, o.maxTokens, o.signal));
    }
  }
  // Median over questions of steer/plain decode ms/token: robust to load spikes on a shared machine.
  const plain = totals.get('plain')!.perQuestion;
  const ratios = totals.get('steer')!.perQuestion.map((x, i) => x / plain[i] - 1).filter((x) => Number.isFinite(x));
  return { summaries: new Map([...totals].map(([m, t]) => [m, t.summary()])), overheadMedian: median(ratios) };
}

/** log p(completion | prompt) with the prompt's last token held back and the edit applied before it. */
async function completionLogProb(engine: Engine, prompt: readonly number[], completion: readonly number[], steer: SteerSettings | undefined): Promise<number> {
  const vocab = engine.config.vocabSize;
  const cache = engine.newCache(prompt.length + completion.length);
  await engine.prefill(cache, prompt.slice(0, -1));
  if (steer) applySteering(cache, cache.length - 1, steer);
  const r = await engine.forward(cache, [prompt[prompt.length - 1], ...completion], { logits: 'all' });
  let sum = 0;
  for (let i = 0; i < completion.length; i++) sum += logProbOf(r.logits, i * vocab, vocab, completion[i]);
  return sum;
}

/**
 * Preference shift on held-out pairs: how much steering raises log p(trace completion) −
 * log p(bare completion), in nats, averaged over pairs. A continuous signal that the vectors point
 * the intended way even when a weak model never gets an answer exactly right.
 */
export async function preferenceShift(engine: Engine, pairs: readonly SteeringPair[], steers: readonly SteerSettings[]): Promise<{ n: number; shifts: number[] }> {
  const format = promptFormat(engine.tokenizer);
  const sums = steers.map(() => 0);
  let n = 0;
  for (const p of pairs) {
    const prompt = encodeExample(engine.tokenizer, format.prompt(p.files, p.question));
    const full = (completion: string) => encodeExample(engine.tokenizer, format.prompt(p.files, p.question) + completion);
    const pos = full(format.positive(p.trace, p.answer));
    const neg = full(format.negative(p.answer));
    // Tokenization must keep the prompt as a prefix of both examples, and everything must fit.
    const isPrefix = (xs: number[]) => prompt.every((t, i) => xs[i] === t);
    if (!isPrefix(pos) || !isPrefix(neg) || Math.max(pos.length, neg.length) > engine.config.maxPositions) continue;
    const logOdds = async (steer: SteerSettings | undefined) => (await completionLogProb(engine, prompt, pos.slice(prompt.length), steer)) - (await completionLogProb(engine, prompt, neg.slice(prompt.length), steer));
    const base = await logOdds(undefined);
    for (const [j, steer] of steers.entries()) sums[j] += (await logOdds(steer)) - base;
    n++;
  }
  return { n, shifts: sums.map((x) => (n ? x / n : NaN)) };
}

/** Sweeps c_v × layer range on the training split; returns the best setting (ties: smaller c_v). */
export async function tuneSteering(engine: Engine, o: SteerBenchOptions, emit: Emit): Promise<SteerTuning> {
  const format = promptFormat(engine.tokenizer);
  const questions = pairQuestions(o.train.slice(0, o.tuneLimit));
  const ranges = o.layerRanges ?? defaultLayerRanges(o.vectors.layers);
  const plain = await runMode(engine, format, questions, 'plain', undefined, o);
  emit({ bench: 'steer', phase: 'sweep', set: 'train', mode: 'plain', accuracy: plain.accuracy, traceRate: plain.traceRate, n: plain.n, skipped: plain.skipped });
  const grid: number[][] = [];
  // The best steered setting, even when it does not beat plain (reported as helpsOnTrain).
  let best: SteerTuning = { cValue: o.cValues[0], layers: ranges[0], trainAccuracy: -1 };
  for (const layers of ranges) {
    const row: number[] = [];
    for (const cValue of o.cValues) {
      const s = await runMode(engine, format, questions, 'steer', { vectors: o.vectors, cKey: o.cKey, cValue, layers }, o);
      row.push(s.accuracy);
      emit({ bench: 'steer', phase: 'sweep', set: 'train', mode: 'steer', cValue, cKey: o.cKey, layers: rangeLabel(layers), accuracy: s.accuracy, traceRate: s.traceRate, tokens: s.tokens, n: s.n });
      if (s.accuracy > best.trainAccuracy) best = { cValue, layers, trainAccuracy: s.accuracy }; // ties keep the earlier, smaller c_v
    }
    grid.push(row);
  }
  if (o.plotFile) {
    fs.mkdirSync(path.dirname(o.plotFile), { recursive: true });
    fs.writeFileSync(o.plotFile, heatmapPng(grid));
  }
  emit({ bench: 'steer', phase: 'tuned', cValue: best.cValue, cKey: o.cKey, layers: rangeLabel(best.layers), trainAccuracy: best.trainAccuracy, plainTrainAccuracy: plain.accuracy, helpsOnTrain: best.trainAccuracy > plain.accuracy, rows: ranges.map(rangeLabel), cols: o.cValues, plot: o.plotFile });
  return best;
}

export interface SteerBenchResult extends SteerTuning {
  /** Per held-out set with measured questions: steer − plain accuracy, in points. */
  steerMinusPlain: Map<string, number>;
}

export async function runSteerBench(engine: Engine, o: SteerBenchOptions, emit: Emit): Promise<SteerBenchResult> {
  const format = promptFormat(engine.tokenizer);
  const tuning = o.cValue !== undefined
    ? { cValue: o.cValue, layers: o.layers ?? o.vectors.layers, trainAccuracy: NaN }
    : await tuneSteering(engine, o, emit);
  const steer: SteerSettings = { vectors: o.vectors, cKey: o.cKey, cValue: tuning.cValue, layers: tuning.layers };
  const gains = new Map<string, number>();
  if (o.heldoutPairs && o.heldoutPairs.length > 0) {
    const cValues = [...new Set([...o.cValues, tuning.cValue])].sort((a, b) => a - b);
    const pairs = o.limit ? o.heldoutPairs.slice(0, o.limit) : o.heldoutPairs;
    const pref = await preferenceShift(engine, pairs, cValues.map((cValue) => ({ ...steer, cValue })));
    cValues.forEach((cValue, j) => emit({ bench: 'steer', phase: 'preference', set: 'heldout', cValue, cKey: o.cKey, layers: rangeLabel(tuning.layers), logOddsShift: pref.shifts[j], n: pref.n }));
  }
  for (const [set, all] of o.heldout) {
    const questions = o.limit ? all.slice(0, o.limit) : all;
    const { summaries: results, overheadMedian } = await runInterleaved(engine, format, questions, steer, o);
    for (const mode of STEER_MODES) {
      const s = results.get(mode)!;
      emit({ bench: 'steer', set, mode, accuracy: s.accuracy, traceRate: s.traceRate, tokens: s.tokens, msPerToken: s.msPerToken, latencyMs: s.latencyMs, n: s.n, skipped: s.skipped, template: format.template, ...(mode === 'steer' ? { cValue: tuning.cValue, cKey: o.cKey, layers: rangeLabel(tuning.layers) } : {}) });
    }
    const plain = results.get('plain')!;
    const cot = results.get('cot')!;
    const steered = results.get('steer')!;
    if (plain.n > 0) gains.set(set, (steered.accuracy - plain.accuracy) * 100);
    emit({
      bench: 'steer', summary: true, set,
      steerMinusPlain: (steered.accuracy - plain.accuracy) * 100,
      steerMinusCot: (steered.accuracy - cot.accuracy) * 100,
      decodeOverhead: steered.msPerToken / plain.msPerToken - 1,
      decodeOverheadMedian: overheadMedian,
      cValue: tuning.cValue, cKey: o.cKey, layers: rangeLabel(tuning.layers), n: plain.n, skipped: plain.skipped,
    });
  }
  return { ...tuning, steerMinusPlain: gains };
}
