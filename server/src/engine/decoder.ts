// The common shape of every decoder (sequential, parallel exact, confidence, block diffusion): the same options
// and result as Engine.generate, so callers switch decoders without changing anything else. It lives in engine/
// (not decode/) so that what takes a decoder (distill/, lsp/) depends on the engine's contract, not on decode/.

import { TextStream, type Engine, type GenerateOptions, type GenerateResult, type StopReason } from './engine';
import type { KvCache } from './kvCache';
import { PREFILL_CHUNK_TOKENS } from '../vocab';

export type DecoderName = 'sequential' | 'parallel' | 'confidence' | 'block-diffusion';

export interface DecodeOptions extends GenerateOptions {
  /**
   * Extra tokens the n-gram drafter may copy from (the repository text the cache was built from). The prompt
   * is always a source too; the decoders that do not draft ignore this.
   */
  history?: readonly number[];
  /**
   * The token of each cache slot before the prompt, in slot order (a pot's kept tokens). With it the parallel
   * decoder asks the model which slot it reads when the answer starts and drafts the text from there (Drafter.pointAt).
   */
  slotTokens?: readonly number[];
}

export interface DecodeResult extends GenerateResult {
  /** Forward passes after the prompt's prefill (the ones that decoded tokens). */
  decodePasses: number;
  /** Draft tokens proposed and accepted (parallel decoders; 0 otherwise). */
  draftsProposed: number;
  draftsAccepted: number;
}

export interface Decoder {
  readonly name: DecoderName;
  readonly engine: Engine;
  /**
   * Prefills `prompt` (may be empty when the cache already ends with logits) and decodes. On return the cache
   * holds the prompt and the generated tokens exactly as after Engine.generate: all of them when the output
   * ended by EOS or cancellation, all but the last (never fed back) on a stop sequence or the length limit.
   */
  generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: DecodeOptions): Promise<DecodeResult>;
}

/** Forward passes Engine.prefill spends on a prompt (chunks of PREFILL_CHUNK_TOKENS). */
export function prefillPasses(promptLength: number): number {
  return Math.ceil(promptLength / PREFILL_CHUNK_TOKENS);
}

/**
 * Takes decided tokens one at a time and applies Engine.generate's rules in its order: cancellation is checked
 * before each token is decided, EOS ends without emitting, then stop sequences, then the length limit. Every
 * decoder funnels its tokens through this, which is what makes their outputs comparable token for token.
 */
export class OutputCollector {
  readonly tokens: number[] = [];
  stopReason: StopReason | undefined;
  private readonly stream: TextStream;
  private readonly eos: Set<number>;

  constructor(
    engine: Engine,
    private readonly options: GenerateOptions,
  ) {
    this.eos = new Set(engine.config.eosTokenIds);
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    this.stream = new TextStream(engine.tokenizer, stops, options.onText);
  }

  get ended(): boolean {
    return this.stopReason !== undefined;
  }

  /** Call before deciding each token: true (and ended) when the length limit is reached or the caller cancelled. */
  mustStop(): boolean {
    if (this.ended) return true;
    if (this.tokens.length >= this.options.maxTokens) this.stopReason = 'length';
    else if (this.options.signal?.aborted) this.stopReason = 'cancelled';
    return this.ended;
  }

  /** Emits one decided token; true when the output has ended (EOS, a stop sequence, or the length limit). */
  offer(token: number): boolean {
    if (this.ended) return true;
    if (this.eos.has(token)) {
      this.stopReason = 'eos';
      return true;
    }
    this.tokens.push(token);
    this.options.onToken?.(token);
    if (this.stream.push(token)) this.stopReason = 'stop';
    else if (this.tokens.length >= this.options.maxTokens) this.stopReason = 'length';
    return this.ended;
  }

  /** How many emitted tokens Engine.generate would have fed back into the cache by now. */
  fedCount(): number {
    if (this.stopReason === 'stop' || (this.stopReason === 'length' && this.tokens.length > 0)) return this.tokens.length - 1;
    return this.tokens.length;
  }

  finish(): { text: string; tokens: number[]; stopReason: StopReason } {
    const stopReason = this.stopReason ?? 'length';
    return { text: this.stream.finish(stopReason === 'stop'), tokens: this.tokens, stopReason };
  }
}
