// `repopot generate`: plain text generation from a prompt, or from BOS when the prompt is empty.
import { Engine } from '../engine/engine';
import type { Sampling } from '../engine/sampling';
import { choiceOption, floatOption, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { DEVICES, WEIGHT_FORMATS } from './common';
import { DECODER_SETTINGS, makeDecoder } from '../decode/index';

const HELP = `usage: repopot generate --model DIR [--prompt TEXT] [--max-tokens N] [--greedy | --temperature T [--top-p P] [--seed S]]
                        [--stop TEXT]... [--device auto|cpu|webgpu|cuda] [--quant fp32|fp16|int8|int4]
                        [--decoder sequential|parallel|confidence|auto|block-diffusion] [--block N] [--json]`;

export async function runGenerate(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    prompt: { type: 'string', default: '' },
    'max-tokens': { type: 'string' },
    greedy: { type: 'boolean', default: false },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    device: { type: 'string' },
    quant: { type: 'string' },
    decoder: { type: 'string' },
    block: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, 'generate');
  if (values.help || !values.model) {
    process.stdout.write(HELP + '\n');
    return values.help ? 0 : 2;
  }
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', 64, 1);
  const decoderSetting = choiceOption(values.decoder, 'decoder', DECODER_SETTINGS, 'sequential');
  const block = values.block === undefined ? undefined : intOption(values.block, 'block', 0, 1);
  const sampling: Sampling = values.greedy || values.temperature === undefined
    ? { kind: 'greedy' }
    : { kind: 'sample', temperature: floatOption(values.temperature, 'temperature', 1), topP: floatOption(values['top-p'], 'top-p', 1), seed: values.seed === undefined ? undefined : intOption(values.seed, 'seed', 0) };
  const engine = await Engine.load(values.model, {
    device: choiceOption(values.device, 'device', DEVICES, 'cpu'),
    weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'fp32'),
    log: cliLog,
  });
  try {
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
  } finally {
    await engine.dispose();
  }
}
