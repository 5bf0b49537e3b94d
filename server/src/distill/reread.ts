// Query-aware re-read: just before answering, the workspace lines that name what the question asks about (the
// name's definition first, then imports of it, then other mentions), each after its file's header, are put back
// into the ask's clone of the pot, right before the question. A repository many times the pot's size cannot keep
// the evidence for an arbitrary later question; the re-read brings it back. Runs on the ask's clone, so the saved
// pot stays question-agnostic (like refine.ts).

import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import type { Tokenizer } from '../model/tokenizer';
import { isDeclarationFile, outlineFile } from '../check/outline';
import { outlineLineSet } from './outlineLines';
import { catalystScores } from './policies/infinipot';
import { topK } from './policies/policy';
import type { SlotSource } from './provenance';
import { encodeContent, headerForTokenizer, type StreamableFile } from './streamer';

/** What the re-read puts back: tokens with their provenance, in the streamer's shape (header line 0, code lines 1-based). */
export interface RereadPieces {
  tokens: number[];
  /** Parallel to `tokens`. */
  sources: SlotSource[];
}

/** A dotted (or `::`/`#`) identifier path such as `Shape.area`: its last segment is a name of its own. */
const IDENTIFIER_PATH = /^[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)+$/;
/** Identifier-like words (dotted paths included) of a question without backticks. */
const WORD = /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/g;

/** camelCase or PascalCase with two humps, snake_case, UPPER_CASE, a digit or `$`: code, not an English word. */
function looksLikeCode(word: string): boolean {
  if (word.includes('.')) return word.split('.').every((segment) => segment.length >= 2);
  return /[a-z][A-Z]/.test(word) || /[_$\d]/.test(word) || /^[A-Z][A-Z0-9]+$/.test(word);
}

/**
 * The identifiers a question asks about: its backticked spans (`Shape.area` gives `Shape.area` and `area`); with
 * none, the words that look like code (camelCase, PascalCase, snake_case, UPPER_CASE, with a digit or underscore).
 * Deduplicated, in question order.
 */
export function questionNames(question: string): string[] {
  const names: string[] = [];
  const add = (name: string): void => {
    if (name && !names.includes(name)) names.push(name);
  };
  const withLast = (name: string): void => {
    add(name);
    if (IDENTIFIER_PATH.test(name)) add(name.split(/\.|::|#/).pop()!);
  };
  const spans = [...question.matchAll(/`([^`]+)`/g)].map((m) => m[1].trim().replace(/\(\)$/, ''));
  if (spans.some((s) => s.length > 0)) {
    for (const span of spans) withLast(span);
    return names;
  }
  for (const m of question.matchAll(WORD)) if (looksLikeCode(m[0])) withLast(m[0]);
  return names;
}

/** Matches `name` as a whole word (no identifier character on either side). */
export function wholeWord(name: string): RegExp {
  return new RegExp(`(?<![\\w$])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w$])`);
}

/** Lines of `text` as the streamer cuts them: each with its newline, 1-based. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

/** An import statement may span lines: the line naming an imported name is looked for this far after its start. */
const IMPORT_SPAN_LINES = 20;

/** 0: defines a name; 1: imports it; 2: mentions it. */
type Rank = 0 | 1 | 2;

/**
 * What to put back for `names`: every line of `files` that contains one of them as a whole word, ranked — lines
 * defining the name first (outlineFile's definitions), then import lines naming it, then other mentions; ties in
 * file order — each with its file's header once, until the next piece would pass `maxTokens`. Returned grouped by
 * file, the files with a definition last (implementations after declaration files), before them those with an
 * import, first those with mentions only (prose and data files' mentions are left out when code defines the name;
 * ties in the order given), lines in file order, tokenized and tagged as the streamer does (header with `encode`,
 * each line with `encodeContent`; lines that define or import a name tagged `outline`).
 */
export async function rereadLines(files: readonly StreamableFile[], names: readonly string[], tokenizer: Tokenizer, maxTokens: number): Promise<RereadPieces> {
  const header = headerForTokenizer(tokenizer);
  const patterns = names.filter((n) => n.length > 0).map((name) => ({ name, re: wholeWord(name) }));
  const candidates: { file: number; line: number; text: string; rank: Rank; outline: boolean }[] = [];
  const proseOrData = new Set<number>(); // file indexes outlineFile reads as not code
  if (patterns.length > 0 && maxTokens > 0) {
    for (const [fileIndex, file] of files.entries()) {
      const lines = splitLines(file.text);
      const hits = new Map<number, string[]>(); // 1-based line → the names it contains
      lines.forEach((text, i) => {
        const found = patterns.filter((p) => p.re.test(text)).map((p) => p.name);
        if (found.length > 0) hits.set(i + 1, found);
      });
      if (hits.size === 0) continue;
      const outline = await outlineFile(file.path, file.text);
      if (outline.via === 'not-code') proseOrData.add(fileIndex);
      const defining = new Set<number>();
      for (const d of outline.definitions) if (hits.get(d.line)?.includes(d.name)) defining.add(d.line);
      const importing = new Set<number>();
      for (const imp of outline.imports) {
        const bound = [...imp.names, ...Object.keys(imp.aliases ?? {})];
        for (let line = imp.line; line < imp.line + IMPORT_SPAN_LINES && line <= lines.length; line++) {
          if (hits.get(line)?.some((n) => bound.includes(n))) {
            importing.add(line);
            break;
          }
        }
      }
      // Tagged `outline` as the streamer tags them (outlineLines.ts): lines that define or import any name.
      const outlined = outlineLineSet(outline);
      for (const line of hits.keys()) {
        const rank: Rank = defining.has(line) ? 0 : importing.has(line) ? 1 : 2;
        candidates.push({ file: fileIndex, line, text: lines[line - 1], rank, outline: outlined.has(line) });
      }
    }
  }
  candidates.sort((a, b) => a.rank - b.rank || a.file - b.file || a.line - b.line);
  // With a definition in code at hand, prose and data files' mentions only compete with it (a README's
  // `var eos = require('end-of-stream')` reads like one); without one they are all there is.
  const withDefinition = candidates.some((c) => c.rank === 0);
  const kept = withDefinition ? candidates.filter((c) => !(c.rank === 2 && proseOrData.has(c.file))) : candidates;

  const headers = new Map<number, number[]>(); // file index → its header's tokens, once picked
  const picked: { file: number; line: number; tokens: number[]; outline: boolean }[] = [];
  let used = 0;
  for (const c of kept) {
    const headerTokens = headers.has(c.file) ? [] : tokenizer.encode(header(files[c.file].path));
    const tokens = encodeContent(tokenizer, c.text);
    if (used + headerTokens.length + tokens.length > maxTokens) break;
    used += headerTokens.length + tokens.length;
    if (!headers.has(c.file)) headers.set(c.file, headerTokens);
    picked.push({ file: c.file, line: c.line, tokens, outline: c.outline });
  }
  // Groups whose best line is a definition go last, next to the question, an implementation after its declaration
  // file (index.js after index.d.ts): a small model leans on what it read last.
  const groupKey = new Map<number, number>();
  for (const c of kept) if (headers.has(c.file) && !groupKey.has(c.file)) groupKey.set(c.file, 2 * c.rank + (isDeclarationFile(files[c.file].path) ? 1 : 0));
  picked.sort((a, b) => groupKey.get(b.file)! - groupKey.get(a.file)! || a.file - b.file || a.line - b.line);

  const out: RereadPieces = { tokens: [], sources: [] };
  const push = (tokens: readonly number[], source: SlotSource): void => {
    for (const t of tokens) {
      out.tokens.push(t);
      out.sources.push(source);
    }
  };
  let current = -1;
  for (const p of picked) {
    const path = files[p.file].path;
    if (p.file !== current) {
      push(headers.get(p.file)!, Object.freeze({ file: path, line: 0 }));
      current = p.file;
    }
    push(p.tokens, Object.freeze(p.outline ? { file: path, line: p.line, outline: true as const } : { file: path, line: p.line }));
  }
  return out;
}

export interface RereadRoom {
  /** Positions kept free after the re-read: the question's prompt tokens plus the answer's maxTokens. */
  reserve: number;
  /** The question's prompt tokens: they rank the slots to drop when the pot itself must shrink. */
  questionTokens: readonly number[];
  signal?: AbortSignal;
}

/**
 * Slot positions slid down by `overshoot`, packing only where a slot would fall below its index: slot i goes to
 * max(i, position - overshoot). The newest slots keep their distances, the oldest close their gaps.
 */
export function slidePositions(positions: Iterable<number>, overshoot: number): number[] {
  return Array.from(positions, (p, i) => Math.max(i, p - overshoot));
}

/**
 * Appends `pieces` to `cache` (the ask's clone of the pot) after its slots, at cache.nextPosition() onwards, first
 * making room so that the pot, the re-read and `room.reserve` stay within the model's trained context
 * (engine.config.maxPositions). Returns how many slots were dropped and by how much the newest positions moved.
 *
 * Making room, the least that fits: (1) when the pot has more slots than the positions left for it, drop the slots
 * the question attends to least (refine.ts's ranking), those the re-read repeats (same file and line) first; (2) when
 * the pot's positions still end too late, slide them down by the overshoot, packing only where a slot would fall
 * below its index: slot i goes to max(i, position - overshoot) (a pot's slots are in position order; CR-RoPE
 * re-rotation, as the pot re-packs). The newest slots keep their distance to the question, the oldest close their
 * gaps; with room to spare nothing moves.
 */
export async function rereadIntoCache(engine: Engine, cache: KvCache<SlotSource>, pieces: RereadPieces, room: RereadRoom): Promise<{ dropped: number; shifted: number }> {
  if (pieces.tokens.length === 0) return { dropped: 0, shifted: 0 };
  if (pieces.sources.length !== pieces.tokens.length) throw new RangeError(`reread: ${pieces.sources.length} sources for ${pieces.tokens.length} tokens`);
  const maxPositions = engine.config.maxPositions;
  // The pot's positions must all lie below `limit`; the re-read and the question with its answer take the rest.
  const limit = maxPositions - pieces.tokens.length - room.reserve;
  if (limit < 0) throw new RangeError(`reread: ${pieces.tokens.length} tokens plus ${room.reserve} for the question and answer exceed the model's ${maxPositions}-token context`);
  let dropped = 0;
  if (cache.length > limit) {
    const scores = room.questionTokens.length > 0 && limit > 0 ? await catalystScores(engine, cache, room.questionTokens) : new Float64Array(cache.length);
    const repeated = new Set(pieces.sources.map((s) => `${s.file}\n${s.line}`));
    cache.tags().forEach((tag, slot) => {
      if (tag && repeated.has(`${tag.file}\n${tag.line}`)) scores[slot] = -Infinity;
    });
    dropped = cache.length - limit;
    cache.keep(topK(scores, limit));
  }
  const shifted = Math.max(0, cache.nextPosition() - limit);
  if (shifted > 0) cache.reposition(slidePositions(cache.positions(), shifted));
  await engine.prefill(cache, pieces.tokens, { tags: pieces.sources, signal: room.signal });
  return { dropped, shifted };
}
