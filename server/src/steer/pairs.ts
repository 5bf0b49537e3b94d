// Contrastive steering pairs (data/steering/*.jsonl) and their formatting for a given tokenizer.
//
// A pair shares one prompt (code files + question); the positive completion is a brief reasoning
// trace then the answer, the negative is the bare answer. Formatting follows the model's own Q&A
// template when its tokenizer has RepoPot's tokens, else a plain "Question:/Answer:" frame, so
// stories260K and random models exercise the same code path.
import type { Tokenizer } from '../model/tokenizer';
import { readJsonLines } from '../util/jsonl';

export interface SteeringFile {
  path: string;
  text: string;
}

export interface SteeringPair {
  id: string;
  kind: string;
  language?: string;
  files: SteeringFile[];
  question: string;
  trace: string;
  answer: string;
}

export function loadPairs(file: string): SteeringPair[] {
  return readJsonLines(file, 'steering pairs').map(({ value, line }, i) => {
    const r = value as Partial<SteeringPair>;
    if (!Array.isArray(r.files) || typeof r.question !== 'string' || typeof r.answer !== 'string' || typeof r.trace !== 'string') {
      throw new Error(`${file}:${line}: a pair needs files[], question, trace and answer`);
    }
    return { id: r.id ?? `${i}`, kind: r.kind ?? 'unknown', language: r.language, files: r.files, question: r.question, trace: r.trace, answer: r.answer };
  });
}

export type TemplateKind = 'repopot' | 'plain';

/** How prompts and completions are written for one tokenizer. */
export interface PromptFormat {
  template: TemplateKind;
  /** Files then the question, ending where the model starts answering. */
  prompt(files: readonly SteeringFile[], question: string): string;
  /** The same prompt with an explicit request to reason step by step (the "cot" baseline). */
  cotPrompt(files: readonly SteeringFile[], question: string): string;
  positive(trace: string, answer: string): string;
  negative(answer: string): string;
  /** Written after a completion when another example follows (few-shot demonstrations). */
  separator: string;
  /** Text that ends an answer. */
  stop: string[];
  /** The answer part of generated text (drops a trace the model wrote first). */
  finalAnswer(generated: string): { answer: string; trace?: string };
}

const COT_REQUEST = 'Think step by step.';

export function promptFormat(tokenizer: Tokenizer): PromptFormat {
  const has = (t: string) => tokenizer.tokenToId(t) !== undefined;
  if (has('<|question|>') && has('<|answer|>') && has('<|file|>')) {
    const end = has('<|end|>') ? '<|end|>' : '\n';
    const files = (list: readonly SteeringFile[]) => list.map((f) => `<|file|> ${f.path}\n${f.text}\n`).join('');
    return {
      template: 'repopot',
      prompt: (list, q) => `${files(list)}<|question|> ${q}\n<|answer|>`,
      cotPrompt: (list, q) => `${files(list)}<|question|> ${q} ${COT_REQUEST}\n<|answer|>`,
      // tools/train/write_tokenizer_config.py: trace form follows <|answer|> directly, bare form after a space.
      positive: (trace, answer) => `<|trace|> ${trace}<|final|> ${answer}${end}`,
      negative: (answer) => ` ${answer}${end}`,
      separator: '\n', // the training data writes `<|end|>\n` between samples
      stop: [...(has('<|end|>') ? ['<|end|>'] : []), '<|question|>', '<|file|>'],
      finalAnswer: (text) => {
        const at = text.indexOf('<|final|>');
        const clean = (s: string) => s.replace(/<\|[a-z_]+\|>/g, '').trim();
        return at < 0 ? { answer: clean(text) } : { answer: clean(text.slice(at + '<|final|>'.length)), trace: clean(text.slice(0, at)) };
      },
    };
  }
  const files = (list: readonly SteeringFile[]) => list.map((f) => `File: ${f.path}\n${f.text}\n`).join('');
  return {
    template: 'plain',
    prompt: (list, q) => `${files(list)}Question: ${q}\nAnswer:`,
    cotPrompt: (list, q) => `${files(list)}Question: ${q} ${COT_REQUEST}\nAnswer:`,
    positive: (trace, answer) => ` ${trace} Final answer: ${answer}\n`,
    negative: (answer) => ` ${answer}\n`,
    separator: '',
    stop: ['\nQuestion:', '\nFile:'],
    finalAnswer: (text) => {
      const at = text.indexOf('Final answer:');
      return at < 0 ? { answer: text.trim() } : { answer: text.slice(at + 'Final answer:'.length).trim(), trace: text.slice(0, at).trim() };
    },
  };
}

/** Token ids of a standalone example: BOS (when the tokenizer has one) then the text. */
export function encodeExample(tokenizer: Tokenizer, text: string): number[] {
  const ids = tokenizer.encode(text);
  return tokenizer.bosTokenId !== undefined && ids[0] !== tokenizer.bosTokenId ? [tokenizer.bosTokenId, ...ids] : ids;
}
