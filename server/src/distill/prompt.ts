// The model's own question format, and how its raw output is split and shown. Shared by the pot's
// catalyst (CaP), asks, evaluation and benchmarks, so all of them speak to the model the same way.

import type { Engine } from '../engine/engine';

/** A question in RepoPot's own Q&A tokens, up to where the model writes its answer. */
export function ownQuestionText(question: string): string {
  return `<|question|> ${question}\n<|answer|>`;
}

/**
 * The question in the model's own format: RepoPot's Q&A tokens when the tokenizer has them, the
 * chat template for instruct models, else a plain "Question:/Answer:" frame.
 */
export function questionPrompt(engine: Engine, question: string): { text: string; stop: string[] } {
  const tokenizer = engine.tokenizer;
  if (tokenizer.tokenToId('<|question|>') !== undefined && tokenizer.tokenToId('<|answer|>') !== undefined) {
    const end = tokenizer.tokenToId('<|end|>') !== undefined ? ['<|end|>'] : [];
    return { text: ownQuestionText(question), stop: [...end, '<|question|>', '<|file|>'] };
  }
  const render = engine.model.renderChat;
  if (render) {
    const text = render([
      { role: 'system', content: 'You answer questions about the code above. Be brief and cite file paths.' },
      { role: 'user', content: question },
    ], { addGenerationPrompt: true });
    return { text: `\n${text}`, stop: ['<|im_end|>', '<|endoftext|>'] };
  }
  return { text: `\nQuestion: ${question}\nAnswer:`, stop: ['\nQuestion:'] };
}

/** RepoPot's model may answer "<|trace|> reasoning<|final|> answer": keep the two apart. */
export function splitTrace(text: string): { answer: string; trace?: string } {
  const at = text.indexOf('<|final|>');
  if (at < 0) return { answer: stripSpecial(text) };
  return { answer: stripSpecial(text.slice(at + '<|final|>'.length)), trace: stripSpecial(text.slice(0, at).replace('<|trace|>', '')) };
}

function stripSpecial(text: string): string {
  return text.replace(/<\|[a-z_]+\|>/g, '').trim();
}

/** Generated text as shown to a reader: control tokens dropped (the trace/answer boundary becomes a line break). */
export function displayText(raw: string): string {
  return raw.replace(/<\|final\|>/g, '\n').replace(/<\|[a-z_]+\|>/g, '').trimStart();
}
