// What the language server needs from a loaded model, as one small port. The engine binding
// (engine_binding.ts) is the only module that knows server/src/engine; everything else sees this.
import type { Tokenizer } from '../model/tokenizer.js';

export type GenerateStop = 'eos' | 'stop' | 'length' | 'cancelled';

export interface GenerateRequest {
  /** Tokens prefilled before the prompt (the repository context). */
  context: number[];
  /** The question, generated from right after the context. */
  prompt: number[];
  maxTokens: number;
  stop?: string[];
  greedy: boolean;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export interface GenerateOutcome {
  text: string;
  tokens: number;
  stopReason: GenerateStop;
}

export interface ModelHost {
  /** Name shown in the status bar. */
  readonly label: string;
  /** Device actually used (e.g. "cpu"). */
  readonly device: string;
  /** Trained context length. */
  readonly maxPositions: number;
  /** K+V bytes one cached token takes across all layers. */
  readonly bytesPerToken: number;
  readonly tokenizer: Tokenizer;
  generate(req: GenerateRequest): Promise<GenerateOutcome>;
  dispose(): Promise<void>;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}
