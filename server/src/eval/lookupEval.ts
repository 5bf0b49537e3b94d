// `repopot eval lookup`: the held-out question sets with the whole repository in the cache (no
// compression): exact match per question type at each context size, multi-hop answered bare and
// with a forced reasoning trace, questions in wordings never trained on (lookup-*paraphrase-*.jsonl),
// held-out code next-token loss, and the copy score: loss and top-1 on an exact repeat of a span of
// held-out code (copy-spans.jsonl), the skill behind every lookup answer.

import { throwIfAborted } from '../util/abort';
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { questionPrompt, splitTrace } from '../distill/prompt';
import { headerForTokenizer, tokenizeWithProvenance } from '../distill/streamer';
import { COPY_PROBE, exactMatch, loadEvalSet, promptKey, type EvalRecord } from './evalSet';
import { readJsonLines } from '../util/jsonl';
import { checkAnswer, memoryRepo, type CheckStatus } from '../check/index';

export interface LookupEvalOptions {
  evalDir: string;
  /** Per set and type, at most this many questions. */
  limit?: number;
  maxTokens?: number;
  /** Only these question types (e.g. where, const); default all. */
  types?: string[];
  /** Only these context sizes in tokens (1024, 2048); default all sets. */
  contexts?: number[];
  /** One line per question (its answer, the expected one, the verdict): to read the misses, not only count them. */
  answers?: boolean;
  signal?: AbortSignal;
}

type Emit = (line: Record<string, unknown>) => void;

/** Repository text (headers + files) as tokens, exactly as the streamer would feed it. */
export function repositoryTokens(engine: Engine, record: EvalRecord): number[] {
  const header = headerForTokenizer(engine.tokenizer);
  return record.files.flatMap((f) => tokenizeWithProvenance(f, engine.tokenizer, header).tokens);
}

/** Answers one record with the full repository in the cache; `trace` forces the reasoning form. */
export async function answerWithFullContext(engine: Engine, record: EvalRecord, mode: 'plain' | 'trace', maxTokens: number): Promise<{ answer: string; tokens: number }> {
  const repo = repositoryTokens(engine, record);
  const prompt = questionPrompt(engine, record.question);
  const forced = mode === 'trace' && engine.tokenizer.tokenToId('<|trace|>') !== undefined ? '<|trace|>' : '';
  const promptTokens = engine.tokenizer.encode(prompt.text + forced);
  const bos = engine.config.bosTokenId;
  const all = [...(bos !== undefined ? [bos] : []), ...repo, ...promptTokens];
  if (all.length + maxTokens > engine.config.maxPositions) {
    throw new Error(`record ${record.id}: ${all.length} prompt tokens + ${maxTokens} exceed the model's context of ${engine.config.maxPositions}`);
  }
  const cache = engine.newCache(all.length + maxTokens);
  const r = await engine.generate(cache, all, { maxTokens, stop: prompt.stop });
  return { answer: splitTrace(forced + r.text).answer, tokens: r.tokens.length };
}

// lookup-<N>k.jsonl: TypeScript/JavaScript packages; lookup-py-<N>k.jsonl: Python packages; a `paraphrase-`
// before the size: the same kinds of questions in wordings that training never used.
const LOOKUP_SET = /^lookup-(py-)?(paraphrase-)?(\d+)k\.jsonl$/;
export { COPY_PROBE };

export async function runLookupEval(engine: Engine, options: LookupEvalOptions, emit: Emit): Promise<void> {
  const sets = fs.readdirSync(options.evalDir).filter((n) => LOOKUP_SET.test(n)).sort();
  if (sets.length === 0) throw new Error(`${options.evalDir}: no lookup-<N>k.jsonl sets (tools/train/gen-questions.ts writes them)`);
  const maxTokens = options.maxTokens ?? 48;
  const summary: Record<string, number> = {};
  // Both languages together, weighted by questions: the figure the goals are stated in.
  const pooled = new Map<string, { hits: number; n: number }>();
  for (const set of sets) {
    const [, py, paraphrase, size] = LOOKUP_SET.exec(set)!;
    const context = Number(size) * 1024;
    const language = py ? 'py' : 'js';
    const wording = paraphrase ? 'paraphrase' : 'canonical';
    if (options.contexts && !options.contexts.includes(context)) continue;
    const byType = new Map<string, EvalRecord[]>();
    // Multi-hop records come in pairs (the trace form and the bare form of one question on the same files); every
    // question is asked in both modes below, so a twin would only count the same prompt twice.
    const asked = new Set<string>();
    for (const r of loadEvalSet(path.join(options.evalDir, set))) {
      if (options.types && !options.types.includes(r.type)) continue;
      const key = promptKey(r);
      if (asked.has(key)) continue;
      asked.add(key);
      const list = byType.get(r.type) ?? [];
      if (list.length < (options.limit ?? Infinity)) list.push(r);
      byType.set(r.type, list);
    }
    for (const [type, records] of byType) {
      const modes: ('plain' | 'trace')[] = type.startsWith('multihop') ? ['plain', 'trace'] : ['plain'];
      for (const mode of modes) {
        let hits = 0;
        let skipped = 0;
        // Every answer's verdict (server/src/check), and how it agrees with exact match.
        const verdicts: Record<CheckStatus, number> & { checkedWrong: number; notFoundRight: number } = { checked: 0, 'not-found': 0, unverifiable: 0, checkedWrong: 0, notFoundRight: 0 };
        const modeType = mode === 'trace' ? `${type}+trace` : type;
        for (const r of records) {
          throwIfAborted(options.signal);
          let answer: string;
          try {
            answer = (await answerWithFullContext(engine, r, mode, maxTokens)).answer;
          } catch {
            skipped++;
            continue;
          }
          const right = exactMatch(answer, r.answer);
          if (right) hits++;
          const { status } = await checkAnswer(r.question, answer, memoryRepo(r.files), options.signal);
          if (options.answers) emit({ eval: 'lookup', answer: true, id: r.id, type: modeType, language, wording, context, question: r.question, expected: r.answer, got: answer, correct: right, verdict: status });
          verdicts[status]++;
          if (status === 'checked' && !right) verdicts.checkedWrong++;
          if (status === 'not-found' && right) verdicts.notFoundRight++;
        }
        const n = records.length - skipped;
        const em = n ? hits / n : NaN;
        const label = (paraphrase ? 'paraphrase:' : '') + modeType;
        summary[`${language === 'py' ? 'py:' : ''}${label}@${context}`] = em;
        const both = pooled.get(`${label}@${context}`) ?? { hits: 0, n: 0 };
        pooled.set(`${label}@${context}`, { hits: both.hits + hits, n: both.n + n });
        emit({ eval: 'lookup', type: label, language, wording, context, em, n, skipped, verdicts });
      }
    }
  }
  const copyProbe = path.join(options.evalDir, COPY_PROBE);
  if (fs.existsSync(copyProbe)) emit({ eval: 'copy', ...(await copyScore(engine, copyProbe, options.signal)) });
  const loss = await heldOutLoss(engine, options.evalDir, options.limit ?? 40);
  const pooledEm = Object.fromEntries([...pooled].map(([key, { hits, n }]) => [key, n ? hits / n : NaN]));
  emit({ eval: 'lookup', summary: true, em: summary, pooledEm, heldOutLoss: loss.meanNll, heldOutTokens: loss.tokens });
}

export interface CopyScore { firstLoss: number; repeatLoss: number; repeatTop1: number; spans: number }

/**
 * Each held-out span (at most `spanTokens` tokens) is fed twice after BOS. firstLoss: mean NLL on the first
 * copy; repeatLoss and repeatTop1: mean NLL and greedy accuracy on the exact repeat. The first token of each
 * copy is left out (nothing announces where a copy starts). A model that can copy from its context predicts
 * the repeat almost perfectly; tools/train/judge.py computes the same figures during training.
 */
export async function copyScore(engine: Engine, probeFile: string, signal?: AbortSignal, spanTokens = 80): Promise<CopyScore> {
  let first = 0, repeat = 0, top1 = 0, n1 = 0, n2 = 0, spans = 0;
  const bos = engine.config.bosTokenId;
  for (const { value, line } of readJsonLines(probeFile, 'copy probe')) {
    const text = (value as { text?: unknown }).text;
    if (typeof text !== 'string') throw new Error(`${probeFile}:${line}: a copy-probe record needs a text`);
    const span = engine.tokenizer.encode(text).slice(0, spanTokens);
    if (span.length < 2) continue;
    signal?.throwIfAborted();
    const head = bos !== undefined ? [bos] : [];
    const tokens = [...head, ...span, ...span];
    const cache = engine.newCache(tokens.length);
    const { tokenLogProbs, predicted } = await engine.prefill(cache, tokens, { logProbs: true, predictions: true, signal });
    const a = head.length; // first copy starts here
    const b = a + span.length; // the repeat starts here
    for (let i = a + 1; i < b; i++) { first -= tokenLogProbs![i]; n1++; }
    for (let i = b + 1; i < tokens.length; i++) {
      repeat -= tokenLogProbs![i];
      if (predicted![i] === tokens[i]) top1++;
      n2++;
    }
    spans++;
  }
  return { firstLoss: n1 ? first / n1 : NaN, repeatLoss: n2 ? repeat / n2 : NaN, repeatTop1: n2 ? top1 / n2 : NaN, spans };
}

/** Mean next-token NLL (nats) over held-out files, each fed with its header as the streamer does. */
export async function heldOutLoss(engine: Engine, evalDir: string, maxFiles: number): Promise<{ meanNll: number; tokens: number }> {
  const seen = new Set<string>();
  let total = 0;
  let count = 0;
  for (const set of fs.readdirSync(evalDir).filter((n) => LOOKUP_SET.test(n) && !n.includes('paraphrase')).sort()) {
    for (const r of loadEvalSet(path.join(evalDir, set))) {
      for (const f of r.files) {
        const key = `${r.pkg}/${f.path}`;
        if (seen.has(key) || seen.size >= maxFiles) continue;
        seen.add(key);
        const tokens = tokenizeWithProvenance(f, engine.tokenizer, headerForTokenizer(engine.tokenizer)).tokens.slice(0, engine.config.maxPositions);
        if (tokens.length < 2) continue;
        const cache = engine.newCache(tokens.length);
        const { tokenLogProbs } = await engine.prefill(cache, tokens, { logProbs: true });
        for (let i = 1; i < tokens.length; i++) {
          total -= tokenLogProbs![i];
          count++;
        }
      }
    }
  }
  return { meanNll: count ? total / count : NaN, tokens: count };
}
