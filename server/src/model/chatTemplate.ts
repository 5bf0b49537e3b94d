// Renders a model's Jinja chat template (tokenizer_config.json's `chat_template`) with @huggingface/jinja,
// the same engine transformers.js uses, so prompts match what the model was fine-tuned on.
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface RenderChatOptions {
  /** Append the assistant turn opener (e.g. "<|im_start|>assistant\n") so the model answers next. */
  addGenerationPrompt?: boolean;
  /** Special-token strings exposed to the template by name (bos_token, eos_token, ...). */
  specialTokens?: Readonly<Record<string, string>>;
}

export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}

const compiled = new Map<string, Template>();

/** Parses once per distinct template string: rendering happens per request, parsing is the slow part. */
function compile(template: string): Template {
  let parsed = compiled.get(template);
  if (!parsed) {
    try {
      parsed = new Template(template);
    } catch (err) {
      throw new ChatTemplateError(`chat template does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
    compiled.set(template, parsed);
  }
  return parsed;
}

export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  const parsed = compile(template);
  try {
    return parsed.render({
      ...options.specialTokens,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      // raise_exception (templates use it to reject malformed conversations) is built into the jinja runtime.
    });
  } catch (err) {
    if (err instanceof ChatTemplateError) throw err;
    throw new ChatTemplateError(`chat template failed to render: ${err instanceof Error ? err.message : String(err)}`);
  }
}
