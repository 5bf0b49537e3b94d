// `repopot generate`: plain text generation from a prompt, or from BOS when the prompt is empty.
import type { Sampling } from '../engine/sampling';
import { DECODERS, DEFAULT_DECODER, type DecoderSetting } from '../vocab';
import { choiceOption, cliLog, command, floatOption, intOption, interruptSignal, optionalInt, runCommand, type Values } from './args';
import { loadEngine, modelChoice, modelOptions, withEngine } from './common';
import { makeDecoder } from '../decode/index';

const generateFlags = {
  ...modelOptions(),
  model: { type: 'string', value: 'DIR', help: 'model folder (Hugging Face or llama2.c; required)' },
  prompt: { type: 'string', value: 'TEXT', help: 'text to continue', shows: 'empty: from BOS' },
  'max-tokens': { type: 'string', value: 'N', help: 'tokens to generate', shows: 64 },
  greedy: { type: 'boolean', default: false, help: 'greedy decoding (the default unless --temperature is given)' },
  temperature: { type: 'string', value: 'T', help: 'sample with this temperature', shows: 'greedy' },
  'top-p': { type: 'string', value: 'P', help: 'nucleus sampling share', shows: 1 },
  seed: { type: 'string', value: 'S', help: 'sampling seed', shows: 'random' },
  stop: { type: 'string', multiple: true, value: 'TEXT', help: 'stop at this text' },
  decoder: { type: 'string', value: 'D', help: 'decoding algorithm', choices: DECODERS, shows: DEFAULT_DECODER },
  block: { type: 'string', value: 'N', help: 'block size of the parallel and diffusion decoders', shows: 'the decoder\'s' },
  json: { type: 'boolean', default: false, help: 'one JSON line (text, tokens, stop reason, timing)' },
} as const;

export const generateCommand = command('generate', generateFlags, { synopsis: '--model DIR', required: 'model', summary: 'Generates text from a prompt (or from BOS when the prompt is empty).' });

export const runGenerate = (argv: string[]): Promise<number> => runCommand(argv, generateCommand, generate);

async function generate(values: Values<typeof generateFlags>): Promise<number> {
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', generateFlags['max-tokens'].shows, 1);
  const decoderSetting = choiceOption<DecoderSetting>(values.decoder, 'decoder', DECODERS, DEFAULT_DECODER);
  const block = optionalInt(values.block, 'block', 1);
  const sampling: Sampling = values.greedy || values.temperature === undefined
    ? { kind: 'greedy' }
    : { kind: 'sample', temperature: floatOption(values.temperature, 'temperature', 1), topP: floatOption(values['top-p'], 'top-p', 1), seed: optionalInt(values.seed, 'seed', 0) };
  return withEngine(loadEngine(modelChoice(values), cliLog), async (engine) => {
    const tokenizer = engine.tokenizer;
    let prompt = tokenizer.encode(values.prompt ?? '', { addSpecial: true });
    const bos = engine.config.bosTokenId ?? tokenizer.bosTokenId;
    if (bos !== undefined && prompt[0] !== bos) prompt = [bos, ...prompt];
    const decoder = await makeDecoder(engine, decoderSetting, { block, log: cliLog });
    const cache = engine.newCache();
    const started = performance.now();
    const result = await decoder.generate(cache, prompt, {
      maxTokens,
      sampling,
      stop: values.stop,
      signal: interruptSignal(),
      onText: values.json ? undefined : (text) => process.stdout.write(text),
    });
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      process.stdout.write(JSON.stringify({ text: result.text, tokens: result.tokens.length, stopReason: result.stopReason, seconds, device: engine.device, decoder: decoder.name, forwardPasses: result.forwardPasses }) + '\n');
    } else {
      process.stdout.write('\n');
      process.stderr.write(`repopot: ${result.tokens.length} tokens in ${seconds.toFixed(2)} s (${result.stopReason}, ${engine.device})\n`);
    }
    return 0;
  });
}
