// InfiniPot (Kim et al., 2024) continual context distillation scores:
//  - CaP (Catalyst Prompt): run a short prompt that asks to recall the code after the pot; the
//    attention mass its query rows put on each slot, summed over heads and layers, estimates
//    which slots future questions will need. The catalyst is run without appending, so its own
//    slots never enter the cache.
//  - NuC (Novelty under Compression): the token's negative log-likelihood when it streamed in;
//    surprising tokens carry information the model cannot regenerate from the rest.
// Selection keeps every file header whole (pin), optionally the outline lines next (pin 'outline': the lines that
// define or import a name, best-scored first, up to `outlineShare` of what is left), then whole lines ranked by CaP
// and NuC (unit 'line', the default), or single tokens: the top `capShare` of the rest by CaP, then the rest by NuC
// (unit 'token', the paper).

import type { Engine } from '../../engine/engine';
import type { KvCache } from '../../engine/kvCache';
import type { CachePolicy, CompressionContext } from './policy';
import { attentionMass, recentSlots, topK } from './policy';

/** What the catalyst asks; framed as a question in the model's own template (see catalystText). */
export const DEFAULT_CATALYST = 'Recall the code above: file paths, names, definitions and values, to answer questions about it later.';

/**
 * 'question': the catalyst is asked like a real question (the model's Q&A or chat template), so its
 * query rows attend the way a later question's will; 'plain': the bare text after the pot.
 */
export type CatalystFrame = 'question' | 'plain';

export interface InfiniPotOptions {
  /** Tokenized catalyst prompt (the pot tokenizes DEFAULT_CATALYST or the configured text). */
  catalystTokens: number[];
  /** Share of the kept budget chosen by CaP (the rest by NuC). */
  capShare?: number;
  /**
   * 'line' (default) keeps whole source lines ranked by their mean score; 'token' keeps single tokens (the paper).
   * Whole lines measured better on held-out lookups at every budget (docs/benchmarks.md, "Positions after compression").
   */
  unit?: 'token' | 'line';
  /**
   * 'headers': every file's header (its path line, and BOS before the first) is kept ahead of the scores,
   * up to `pinShare` of the target. A lookup answer is copied from a header, and a header cut in half cannot be
   * copied (docs/benchmarks.md, "Positions after compression"). 'outline' (DEFAULT_PIN): headers, then the lines tagged
   * `outline` (definitions and imports; streamer.ts) ranked by score, up to `outlineShare` of the rest of the target.
   * 'none': the paper's selection by scores alone.
   */
  pin?: InfiniPotPin;
  /** Most of the target that pinned headers may take (the newest headers win when they do not all fit; DEFAULT_PIN_SHARE). */
  pinShare?: number;
  /**
   * Which headers the pin keeps: 'newest' (DEFAULT_HEADERS), every header newest first up to `pinShare`; 'kept', a
   * file's header travels with its first kept line (within `pinShare`), and only leftover room goes to the newest
   * other headers. A long stream has more files than a pot has room for headers: 'newest' then spends up to half the
   * pot on paths of files none of whose lines were kept, which a question cannot use and which distract the answer.
   */
  headers?: InfiniPotHeaders;
  /** With pin 'outline': most of the target left after the headers that outline lines may take first (DEFAULT_OUTLINE_SHARE). */
  outlineShare?: number;
  /**
   * Share of the target kept as the newest slots, whole, as StreamingLLM's window (default 0: the paper's
   * selection only). With the query-aware re-read supplying the evidence, the rest of the pot mostly has to not
   * distract, and a recent stretch of whole code distracts less than scattered kept lines of other files
   * (docs/benchmarks.md, "The product's ask at repository sizes").
   */
  recentShare?: number;
  /**
   * How line ranking puts CaP and NuC on one scale before mixing them: 'max' divides each by its largest slot, 'rank'
   * uses each slot's rank among the cache's slots (0 lowest, 1 highest). The attention sink (BOS) takes most of the
   * catalyst's mass, so under 'max' every other slot's CaP is near 0 and the line ranking is NuC's alone; 'rank' gives
   * CaP a real say and lost on held-out lookups (docs/benchmarks.md, session 22).
   */
  scale?: InfiniPotScale;
}

export const INFINIPOT_SCALES = ['max', 'rank'] as const;
export type InfiniPotScale = (typeof INFINIPOT_SCALES)[number];
export const DEFAULT_SCALE: InfiniPotScale = 'max';

export const INFINIPOT_PINS = ['none', 'headers', 'outline'] as const;
export type InfiniPotPin = (typeof INFINIPOT_PINS)[number];
/**
 * Headers and outline lines: on held-out 4k streams at budget 512 the pot kept the evidence of 5 of 20 lookups
 * against 1 with headers alone (docs/benchmarks.md, "Outline lines").
 */
export const DEFAULT_PIN: InfiniPotPin = 'outline';

/**
 * Headers up to half the pot, outline lines up to half of the rest. Session 22 measured a fifth and all the rest
 * (`pinshare=0.2:outline=1`): the pot alone then kept a planted constant in 24 of 24 trials instead of 9 and the
 * evidence of 22 of 40 lookups instead of 12, but as the product asks (with the re-read) it answered 5 fewer of 152,
 * on a model trained on pots of the default shares (docs/benchmarks.md, "Session 22: … the pot's shares").
 */
export const DEFAULT_PIN_SHARE = 0.5;
export const DEFAULT_OUTLINE_SHARE = 0.5;

export const INFINIPOT_HEADERS = ['newest', 'kept'] as const;
export type InfiniPotHeaders = (typeof INFINIPOT_HEADERS)[number];
export const DEFAULT_HEADERS: InfiniPotHeaders = 'newest';

/** CaP: per-slot attention mass of the catalyst's rows (their mean), summed over layers. */
export function catalystScores<Tag>(engine: Engine, cache: KvCache<Tag>, catalystTokens: readonly number[]): Promise<Float64Array> {
  return attentionMass(engine, cache, catalystTokens, 1 / catalystTokens.length);
}

export function infinipotPolicy(options: InfiniPotOptions): CachePolicy {
  const capShare = options.capShare ?? 0.5;
  if (!(capShare >= 0 && capShare <= 1)) throw new RangeError(`infinipot: capShare must be in [0, 1] (got ${capShare})`);
  if (options.catalystTokens.length === 0) throw new RangeError('infinipot: the catalyst prompt tokenized to nothing');
  const pin = options.pin ?? DEFAULT_PIN;
  const pinShare = options.pinShare ?? DEFAULT_PIN_SHARE;
  const scale = options.scale ?? DEFAULT_SCALE;
  const outlineShare = options.outlineShare ?? DEFAULT_OUTLINE_SHARE;
  if (!(outlineShare >= 0 && outlineShare <= 1)) throw new RangeError(`infinipot: outlineShare must be in [0, 1] (got ${outlineShare})`);
  const recentShare = options.recentShare ?? 0;
  if (!(recentShare >= 0 && recentShare <= 1)) throw new RangeError(`infinipot: recentShare must be in [0, 1] (got ${recentShare})`);
  return {
    name: 'infinipot',
    needs: { logProbs: true },
    async selectKeep(context: CompressionContext) {
      const cap = await catalystScores(context.engine, context.cache, options.catalystTokens);
      const nuc = context.stats.nll.map((v) => (Number.isFinite(v) ? v : 0));
      const recentCount = Math.min(context.cache.length, Math.floor(context.target * recentShare));
      if (recentCount === 0) return select(context, cap, nuc);
      // The window first; the scores fill the rest. A selection that overlaps the window is redone once with
      // that much more room, so the pot still fills its target.
      const recent = recentSlots(context.cache.length, recentCount);
      const window = new Set(recent);
      const rest = context.target - recentCount;
      let chosen = select({ ...context, target: rest }, cap, nuc).filter((slot) => !window.has(slot));
      if (chosen.length < rest) chosen = select({ ...context, target: 2 * rest - chosen.length }, cap, nuc).filter((slot) => !window.has(slot)).slice(0, rest);
      return [...chosen, ...recent];
    },
  };

  function select(context: CompressionContext, rawCap: Float64Array, rawNuc: readonly number[]): number[] {
    const [cap, nuc] = scale === 'rank' ? [rankScale(rawCap), rankScale(rawNuc)] : [rawCap, rawNuc];
    const headerLimit = Math.floor(context.target * pinShare);
    if (pin !== 'none' && (options.headers ?? DEFAULT_HEADERS) === 'kept') {
      return selectWithHeaders(context, cap, nuc, capShare, headerLimit, pin === 'outline' ? outlineShare : 0);
    }
    const pinned = pin !== 'none' ? headerSlots(context, headerLimit) : [];
    if (pin === 'outline') {
      const outline = new Set(outlineSlots(context.cache.tags()));
      const budget = Math.floor((context.target - pinned.length) * outlineShare);
      const headers = new Set(pinned);
      pinned.push(...selectLines({ ...context, target: budget }, cap, nuc, capShare, (s) => headers.has(s) || !outline.has(s)));
    }
    const pinnedSet = new Set(pinned);
    const target = context.target - pinned.length;
    if ((options.unit ?? 'line') === 'line') return [...pinned, ...selectLines({ ...context, target }, cap, nuc, capShare, (s) => pinnedSet.has(s))];
    const open = Array.from({ length: context.cache.length }, (_, i) => i).filter((s) => !pinnedSet.has(s));
    const byCap = topK(cap, Math.round(target * capShare), open);
    const chosen = new Set(byCap);
    const rest = open.filter((s) => !chosen.has(s));
    return [...pinned, ...byCap, ...topK(nuc, target - byCap.length, rest)];
  }
}

/** Each value's rank among all of them, scaled to [0, 1] (ties share the mean rank). */
export function rankScale(xs: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: xs.length }, (_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const out = new Float64Array(xs.length);
  const top = Math.max(1, xs.length - 1);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    for (let k = i; k <= j; k++) out[order[k]] = (i + j) / 2 / top;
    i = j + 1;
  }
  return out;
}

/** Slots of whole file headers (line 0), newest files first, at most `limit` slots. */
function headerSlots(context: CompressionContext, limit: number): number[] {
  const kept: number[] = [];
  for (const slots of [...headersByFile(context.cache.tags()).values()].reverse()) {
    if (kept.length + slots.length > limit) break;
    kept.push(...slots);
  }
  return kept;
}

/** A file's header (line 0) slots, per file in stream order. */
function headersByFile(tags: readonly ({ file: string; line: number } | undefined)[]): Map<string, number[]> {
  const byFile = new Map<string, number[]>();
  tags.forEach((tag, slot) => {
    if (!tag || tag.line !== 0) return;
    const g = byFile.get(tag.file);
    if (g) g.push(slot);
    else byFile.set(tag.file, [slot]);
  });
  return byFile;
}

/**
 * Headers 'kept': slot 0 (BOS, the attention sink, streamed with the first header) always; then outline lines up to
 * `outlineShare` of the target and the rest of the lines by score, each line bringing its file's header when the
 * headers stay within `headerLimit`; leftover room goes to the newest headers not yet kept.
 */
function selectWithHeaders(context: CompressionContext, cap: Float64Array, nuc: ArrayLike<number>, capShare: number, headerLimit: number, outlineShare: number): number[] {
  const tags = context.cache.tags();
  const byFile = headersByFile(tags);
  const headerSlot = new Set([...byFile.values()].flat());
  const takenFiles = new Set<string>();
  const kept: number[] = context.target > 0 && context.cache.length > 0 ? [0] : [];
  // slot 0 counts against the header limit when it is the first file's header
  let headerSlots = kept.filter((s) => headerSlot.has(s)).length;
  const taken = new Set(kept);
  const companion = {
    need(slot: number): readonly number[] {
      const file = tags[slot]?.file;
      if (file === undefined || takenFiles.has(file)) return [];
      const slots = (byFile.get(file) ?? []).filter((s) => !taken.has(s));
      return headerSlots + slots.length <= headerLimit ? slots : [];
    },
    take(slot: number, header: readonly number[]): void {
      const file = tags[slot]?.file;
      if (file === undefined || header.length === 0) return;
      takenFiles.add(file);
      headerSlots += header.length;
    },
  };
  const take = (slots: readonly number[]) => slots.forEach((s) => (taken.add(s), kept.push(s)));
  if (outlineShare > 0) {
    const outline = new Set(outlineSlots(tags));
    const room = Math.min(Math.floor(context.target * outlineShare), context.target - kept.length);
    take(selectLines({ ...context, target: room }, cap, nuc, capShare, (s) => taken.has(s) || headerSlot.has(s) || !outline.has(s), companion));
  }
  take(selectLines({ ...context, target: context.target - kept.length }, cap, nuc, capShare, (s) => taken.has(s) || headerSlot.has(s), companion));
  for (const [file, slots] of [...byFile].reverse()) {
    if (takenFiles.has(file)) continue;
    const open = slots.filter((s) => !taken.has(s));
    if (kept.length + open.length > context.target || headerSlots + open.length > headerLimit) continue;
    take(open);
    headerSlots += open.length;
  }
  return kept;
}

/** Slots whose tag marks a line that defines or imports a name. */
function outlineSlots(tags: readonly ({ outline?: true } | undefined)[]): number[] {
  const slots: number[] = [];
  tags.forEach((tag, slot) => tag?.outline && slots.push(slot));
  return slots;
}

/**
 * Whole-line variant: lines ranked by mean normalized (CaP + NuC); fill the target line by line. Slots `skip` names
 * are not candidates. With a `companion`, a line brings the slots `need` names (its file's header) and counts them.
 */
function selectLines(
  context: CompressionContext,
  cap: Float64Array,
  nuc: ArrayLike<number>,
  capShare: number,
  skip: (slot: number) => boolean,
  companion?: { need(slot: number): readonly number[]; take(slot: number, extra: readonly number[]): void },
): number[] {
  const { cache, target } = context;
  const norm = (xs: ArrayLike<number>) => {
    let max = 0;
    for (let i = 0; i < xs.length; i++) max = Math.max(max, xs[i]);
    return (i: number) => (max > 0 ? xs[i] / max : 0);
  };
  const capN = norm(cap);
  const nucN = norm(nuc);
  const groups = new Map<string, number[]>();
  const tags = cache.tags();
  tags.forEach((tag, slot) => {
    if (skip(slot)) return;
    const key = tag ? `${tag.file}\u0000${tag.line}` : `slot\u0000${slot}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(slot);
  });
  const ranked = [...groups.values()]
    .map((slots) => ({ slots, score: slots.reduce((a, s) => a + capShare * capN(s) + (1 - capShare) * nucN(s), 0) / slots.length }))
    .sort((a, b) => b.score - a.score);
  const kept: number[] = [];
  for (const { slots } of ranked) {
    const extra = companion?.need(slots[0]) ?? [];
    if (kept.length + slots.length + extra.length > target) continue;
    kept.push(...extra, ...slots);
    companion?.take(slots[0], extra);
    if (kept.length === target) break;
  }
  return kept;
}
