// `repopot eval lookup`: the held-out question sets with the whole repository in the cache (no
// compression): exact match per question type at each context size, multi-hop answered bare and
// with a forced reasoning trace, and held-out code next-token loss.

import { throwIfAborted } from '../util/abort';
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import { questionPrompt, splitTrace } from '../distill/prompt';
import { headerForTokenizer, tokenizeWithProvenance } from '../distill/streamer';
import { exactMatch, loadEvalSet, type EvalRecord } from './evalSet';

export interface LookupEvalOptions {
  evalDir: string;
  /** Per set and type, at most this many questions. */
  limit?: number;
  maxTokens?: number;
  /** Only these question types (e.g. where, const); default all. */
  types?: string[];
  /** Only these context sizes in tokens (1024, 2048); default all sets. */
  contexts?: number[];
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

export async function runLookupEval(engine: Engine, options: LookupEvalOptions, emit: Emit): Promise<void> {
  // lookup-<N>k.jsonl: TypeScript/JavaScript packages; lookup-py-<N>k.jsonl: Python packages.
  const sets = fs.readdirSync(options.evalDir).filter((n) => /^lookup-(py-)?\d+k\.jsonl$/.test(n)).sort();
  if (sets.length === 0) throw new Error(`${options.evalDir}: no lookup-<N>k.jsonl sets (tools/train/gen-questions.ts writes them)`);
  const maxTokens = options.maxTokens ?? 48;
  const summary: Record<string, number> = {};
  // Both languages together, weighted by questions: the figure the goals are stated in.
  const pooled = new Map<string, { hits: number; n: number }>();
  for (const set of sets) {
    const context = Number(/(\d+)k\.jsonl$/.exec(set)![1]) * 1024;
    const language = set.startsWith('lookup-py-') ? 'py' : 'js';
    if (options.contexts && !options.contexts.includes(context)) continue;
    const byType = new Map<string, EvalRecord[]>();
    for (const r of loadEvalSet(path.join(options.evalDir, set))) {
      if (options.types && !options.types.includes(r.type)) continue;
      const list = byType.get(r.type) ?? [];
      if (list.length < (options.limit ?? Infinity)) list.push(r);
      byType.set(r.type, list);
    }
    for (const [type, records] of byType) {
      const modes: ('plain' | 'trace')[] = type.startsWith('multihop') ? ['plain', 'trace'] : ['plain'];
      for (const mode of modes) {
        let hits = 0;
        let skipped = 0;
        for (const r of records) {
          throwIfAborted(options.signal);
          try {
            const { answer } = await answerWithFullContext(engine, r, mode, maxTokens);
            if (exactMatch(answer, r.answer)) hits++;
          } catch {
            skipped++;
          }
        }
        const n = records.length - skipped;
        const em = n ? hits / n : NaN;
        const label = mode === 'trace' ? `${type}+trace` : type;
        summary[`${language === 'py' ? 'py:' : ''}${label}@${context}`] = em;
        const both = pooled.get(`${label}@${context}`) ?? { hits: 0, n: 0 };
        pooled.set(`${label}@${context}`, { hits: both.hits + hits, n: both.n + n });
        emit({ eval: 'lookup', type: label, language, context, em, n, skipped });
      }
    }
  }
  const loss = await heldOutLoss(engine, options.evalDir, options.limit ?? 40);
  const pooledEm = Object.fromEntries([...pooled].map(([key, { hits, n }]) => [key, n ? hits / n : NaN]));
  emit({ eval: 'lookup', summary: true, em: summary, pooledEm, heldOutLoss: loss.meanNll, heldOutTokens: loss.tokens });
}

/** Mean next-token NLL (nats) over held-out files, each fed with its header as the streamer does. */
export async function heldOutLoss(engine: Engine, evalDir: string, maxFiles: number): Promise<{ meanNll: number; tokens: number }> {
  const seen = new Set<string>();
  let total = 0;
  let count = 0;
  for (const set of fs.readdirSync(evalDir).filter((n) => n.endsWith('.jsonl')).sort()) {
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
