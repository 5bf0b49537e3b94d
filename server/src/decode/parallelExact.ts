// Parallel exact decoding for autoregressive models: drafts (n-gram copies + Jacobi guesses) merged into a token
// tree and verified in one forward pass per block.
//
//   committed (decided, not yet in the cache) ‖ tree of drafts ──► one forward pass (tree mask: each draft sees the
//        committed tokens and its ancestors), all rows' logits, K/V appended
//   walk: decide from the last committed row; while the decided token is a child of the current node, accept it
//        and decide from that child's row ─► accepted path + one more token (the first disagreement)
//   drop every slot off the accepted path (cache.truncate / cache.remove) ─► next block
//
// The sampler is called once per emitted token, in order, on logits of the true context, so greedy output equals
// sequential greedy (and seeded sampling consumes the same random numbers as Engine.generate). A token constraint
// (DecodeOptions.constrain, e.g. path snapping) is applied to each decision on the text emitted so far, as
// Engine.generate applies it; drafts stay unconstrained guesses. The confidence rule (confidence.ts) plugs in after
// the first disagreement and is the only lossy part.

import { EngineError, type Engine } from '../engine/engine';
import { throwIfAborted } from '../util/abort';
import type { KvCache } from '../engine/kvCache';
import { argmax, constrained, GREEDY, Sampler, type Sampling } from '../engine/sampling';
import { MASK_NEG } from '../graph/contract';
import { Drafter, draftCandidatesFor, type DrafterOptions } from './drafts';
import { OutputCollector, prefillPasses, type DecodeOptions, type DecodeResult, type Decoder, type DecoderName } from '../engine/decoder';

export const DEFAULT_BLOCK = 8;
/**
 * Output tokens a decoder keeps from its earlier answers as a draft source. Answers repeat their format (a multi-hop
 * trace's fixed wording, paths of the same repository), so the previous ones draft the next.
 */
export const DEFAULT_ANSWER_MEMORY = 1024;

export interface ParallelOptions {
  /** Tokens per verification pass: decided tokens plus drafts (default 8). */
  block?: number;
  /** Tokens of the repository text the cache was built from (n-gram draft source), for every call. */
  history?: readonly number[];
  drafter?: DrafterOptions;
  /**
   * Pointer drafts (Drafter.pointAt): the layer whose attention from the prompt's last token picks the pointed slot
   * when DecodeOptions.slotTokens is given (RepoPot's model was taught its answer head in its last layer). Off by
   * default: the prompt's last token then runs alone through the attention-mass graph, which costs more than the
   * pointer saved on the eval workload (docs/benchmarks.md, Parallel decoder).
   */
  pointerLayer?: number;
  /** Tokens of this decoder's earlier outputs kept as a draft source (default DEFAULT_ANSWER_MEMORY; 0: none). */
  answerMemory?: number;
}

/**
 * After the first row whose decision disagrees with the drafts, decides whether to keep the next positions of the
 * block too (lossy: those rows saw a wrong draft). The exact decoder has none.
 */
export interface LossyRule {
  /** `confidence`: probability of the token the sampler picked for the row, under the sampling distribution. */
  accept(confidence: number): boolean;
}

export class ParallelDecoder implements Decoder {
  readonly name: DecoderName;
  readonly block: number;
  /** The latest outputs, oldest first, at most `answerMemory` tokens (drafted from before the repository's text). */
  private readonly recentOutputs: number[] = [];
  /** The drafter's options for every call: the caller's, with the candidate count for this block filled in. */
  private readonly drafterOptions: DrafterOptions;

  constructor(
    readonly engine: Engine,
    private readonly options: ParallelOptions = {},
    private readonly lossy?: LossyRule,
  ) {
    this.block = options.block ?? DEFAULT_BLOCK;
    if (!Number.isInteger(this.block) || this.block < 1) throw new RangeError(`parallel decoder: block must be a positive integer (got ${this.block})`);
    this.name = lossy ? 'confidence' : 'parallel';
    this.drafterOptions = { ...options.drafter, maxCandidates: options.drafter?.maxCandidates ?? draftCandidatesFor(this.block) };
  }

  /** Draft candidates verified per pass. */
  get draftCandidates(): number {
    return this.drafterOptions.maxCandidates!;
  }

  async generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
    const engine = this.engine;
    const vocab = engine.config.vocabSize;
    const sampling: Sampling = options.sampling ?? GREEDY;
    const sampler = new Sampler(sampling);
    const temperature = sampling.kind === 'sample' ? sampling.temperature : 1;
    const slotTokens = options.slotTokens;
    const layer = this.options.pointerLayer;
    const pointing = layer !== undefined && slotTokens !== undefined && slotTokens.length === cache.length && cache.length > 1 && prompt.length > 0;
    let pointed: number | undefined;
    let prefill = 0;
    if (pointing) {
      // The prompt's last token runs alone so its attention per slot comes back with the logits.
      if (prompt.length > 1) await engine.prefill(cache, prompt.slice(0, -1), { signal: options.signal });
      throwIfAborted(options.signal);
      const r = await engine.forward(cache, prompt.slice(-1), { attentionRows: Float32Array.of(1), logits: 'last' });
      pointed = pointedSlot(r.attentionMass![layer], slotTokens.length);
      prefill = (prompt.length > 1 ? prefillPasses(prompt.length - 1) : 0) + 1;
    } else if (prompt.length > 0) {
      await engine.prefill(cache, prompt, { signal: options.signal });
      prefill = prefillPasses(prompt.length);
    }
    if (!cache.lastLogits) throw new EngineError('generate: empty prompt and the cache holds no logits to continue from');
    const promptEnd = cache.length;
    const promptLogits = cache.lastLogits;
    const out = new OutputCollector(engine, options);
    // Earlier answers first: the drafter prefers the most recent occurrence, i.e. the repository and the prompt.
    const drafter = new Drafter([...this.recentOutputs, ...(this.options.history ?? []), ...(options.history ?? []), ...prompt], this.drafterOptions);
    if (pointed !== undefined) drafter.pointAt(slotTokens!, pointed);
    let decodePasses = 0;
    let draftsProposed = 0;
    let draftsAccepted = 0;
    const constrain = options.constrain;
    /** The constraint's verdict for the next token, given what has been emitted (undefined: free). */
    const allowNext = () => constrain?.(engine.tokenizer.decode(out.tokens));
    const emit = (token: number): boolean => {
      const before = out.tokens.length;
      const ended = out.offer(token);
      if (out.tokens.length > before) drafter.accept(token);
      return ended;
    };

    // The first token comes from the prefill's logits, as in Engine.generate.
    let committed: number[] = [];
    if (!out.mustStop() && !emit(sampler.next(constrained(cache.lastLogits, 0, vocab, allowNext()), 0, vocab))) committed = [out.tokens[out.tokens.length - 1]];

    /** The pass whose row `row` holds the logits after the last true-context slot. */
    let lastRows: { logits: Float32Array; row: number } | undefined;
    let trueLength = promptEnd; // cache slots holding K/V of the true context (the rest are rejected drafts)
    while (!out.ended) {
      const tree = buildTree(drafter.candidates(Math.max(0, this.block - committed.length)), Math.max(0, this.block - committed.length));
      const c = committed.length;
      const input = [...committed, ...tree.tokens];
      const base = cache.length;
      const firstOutput = base - promptEnd; // output index of input[0]: everything before it is in the cache
      const startPosition = cache.nextPosition();
      const positions = input.map((_, i) => (i < c ? startPosition + i : startPosition + c - 1 + tree.depth[i - c]));
      const r = await engine.forward(cache, input, { positions, mask: treeMask(base, c, tree.parent), logits: 'all' });
      decodePasses++;
      draftsProposed += tree.tokens.length;

      // Exact part: walk down the tree while the decided token is a child of the current node.
      let node = -1; // -1: the last committed token
      const rowOf = (n: number) => (n < 0 ? c - 1 : c + n);
      // Each row's argmax is needed up to three times (greedy decision, Jacobi guess, pool): compute it once.
      const argmaxOfRow = new Int32Array(input.length).fill(-1);
      const predicted = (row: number): number => (argmaxOfRow[row] >= 0 ? argmaxOfRow[row] : (argmaxOfRow[row] = argmax(r.logits, row * vocab, vocab)));
      const decide = (row: number): number => {
        const allow = allowNext();
        return !allow && sampling.kind === 'greedy' ? predicted(row) : sampler.next(constrained(r.logits, row * vocab, vocab, allow), 0, vocab);
      };
      const path: number[] = [];
      committed = [];
      while (!out.mustStop()) {
        const token = decide(rowOf(node));
        if (emit(token)) break;
        const child = tree.childWith(node, token);
        if (child >= 0) {
          path.push(child);
          draftsAccepted++;
          node = child;
          continue;
        }
        committed = [token];
        break;
      }
      // Jacobi: the rows along the first-child chain below the accepted node guess the next positions.
      for (let n = node, depth = path.length; ; depth++) {
        drafter.guess(firstOutput + c + depth, predicted(rowOf(n)));
        n = tree.firstChild(n);
        if (n < 0) break; // no child (−1 here never means the root again)
      }
      // Every row is the model's prediction after its node's last two tokens: remember them (n-gram pool).
      const tokenBefore = (n: number): number | undefined => (n < 0 ? (c >= 2 ? input[c - 2] : out.tokens[firstOutput - 1]) : tree.parent[n] < 0 ? input[c - 1] : tree.tokens[tree.parent[n]]);
      for (let n = -1; n < tree.tokens.length; n++) {
        drafter.learn(tokenBefore(n), n < 0 ? input[c - 1] : tree.tokens[n], predicted(rowOf(n)));
      }
      // Lossy part (confidence mode): rows below a wrong draft, kept while confident; fed in the next block.
      if (this.lossy && committed.length === 1) {
        for (let n = tree.firstChild(node); n >= 0 && committed.length < this.block; n = tree.firstChild(n)) {
          if (out.mustStop()) break;
          const token = decide(rowOf(n));
          if (!this.lossy.accept(probabilityOf(r.logits, rowOf(n) * vocab, vocab, token, temperature))) break;
          if (emit(token)) break;
          committed.push(token);
        }
      }
      // Keep the committed slots and the accepted path; drop every other draft slot.
      const keepUpTo = base + c + (path.length ? path[path.length - 1] + 1 : 0);
      const dropped: number[] = [];
      for (let n = 0, k = 0; base + c + n < keepUpTo; n++) {
        if (k < path.length && path[k] === n) k++;
        else dropped.push(base + c + n);
      }
      cache.truncate(keepUpTo);
      if (dropped.length) cache.remove(dropped);
      trueLength = base + c + path.length;
      lastRows = { logits: r.logits, row: rowOf(node) };
    }
    // Roll back to exactly what Engine.generate would hold: the prompt and the tokens fed so far.
    const fed = promptEnd + out.fedCount();
    cache.truncate(Math.min(fed, trueLength));
    if (fed > trueLength) {
      // Confidence mode ended on tokens decided from a wrong context: feed them as Engine.generate would have.
      const r = await engine.forward(cache, out.tokens.slice(trueLength - promptEnd, fed - promptEnd), { logits: 'last' });
      decodePasses++;
      lastRows = { logits: r.logits, row: 0 };
    }
    if (lastRows && fed >= trueLength) cache.lastLogits = lastRows.logits.slice(lastRows.row * vocab, (lastRows.row + 1) * vocab);
    else if (!lastRows && fed === promptEnd) cache.lastLogits = promptLogits;
    this.remember(out.tokens);
    return { ...out.finish(), forwardPasses: prefill + decodePasses, decodePasses, draftsProposed, draftsAccepted };
  }

  private remember(tokens: readonly number[]): void {
    const limit = this.options.answerMemory ?? DEFAULT_ANSWER_MEMORY;
    this.recentOutputs.push(...tokens);
    if (this.recentOutputs.length > limit) this.recentOutputs.splice(0, this.recentOutputs.length - limit);
  }
}

/** The slot (of the first `slots`) with the most attention mass, slot 0 excluded: it is where attention sinks. */
export function pointedSlot(mass: Float32Array, slots: number): number | undefined {
  let best: number | undefined;
  for (let j = 1; j < slots; j++) if (best === undefined || mass[j] > mass[best]) best = j;
  return best;
}

/** Draft chains merged into a token trie, laid out in insertion order (a chain's nodes are contiguous). */
export interface DraftTree {
  tokens: number[];
  /** Parent node index, -1 for the root (the last committed token). */
  parent: number[];
  /** 1 for children of the root. */
  depth: number[];
  childWith(node: number, token: number): number;
  firstChild(node: number): number;
}

/** Merges chains (best first) into at most `budget` nodes; later chains get a fair share, the first the rest. */
export function buildTree(chains: readonly (readonly number[])[], budget: number): DraftTree {
  const tokens: number[] = [];
  const parent: number[] = [];
  const depth: number[] = [];
  const children = new Map<number, Map<number, number>>();
  const share = chains.length > 1 ? Math.max(2, Math.floor(budget / chains.length)) : budget;
  chains.forEach((chain, i) => {
    let at = -1;
    const allowed = i === 0 ? Math.max(share, budget - share * (chains.length - 1)) : share;
    for (let k = 0; k < chain.length && k < allowed && tokens.length < budget; k++) {
      let kids = children.get(at);
      if (!kids) children.set(at, (kids = new Map()));
      let node = kids.get(chain[k]);
      if (node === undefined) {
        node = tokens.length;
        tokens.push(chain[k]);
        parent.push(at);
        depth.push(at < 0 ? 1 : depth[at] + 1);
        kids.set(chain[k], node);
      }
      at = node;
    }
  });
  return {
    tokens,
    parent,
    depth,
    childWith: (node, token) => children.get(node)?.get(token) ?? -1,
    firstChild: (node) => {
      const kids = children.get(node);
      if (!kids) return -1;
      let first = -1;
      for (const n of kids.values()) if (first < 0 || n < first) first = n;
      return first;
    },
  };
}

/** Past slots visible to all; committed tokens causal; each tree node sees the committed tokens and its ancestors. */
export function treeMask(past: number, committed: number, parent: readonly number[]): Float32Array {
  const q = committed + parent.length;
  const total = past + q;
  const mask = new Float32Array(q * total).fill(MASK_NEG);
  for (let r = 0; r < q; r++) {
    const row = r * total;
    mask.fill(0, row, row + past + Math.min(r, committed - 1) + 1);
    if (r < committed) continue;
    for (let n = r - committed; n >= 0; n = parent[n]) mask[row + past + committed + n] = 0;
  }
  return mask;
}

/** softmax(row / temperature)[token], computed stably. */
export function probabilityOf(logits: Float32Array, offset: number, vocab: number, token: number, temperature = 1): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp((logits[offset + i] - max) / temperature);
  return Math.exp((logits[offset + token] - max) / temperature) / sum;
}
