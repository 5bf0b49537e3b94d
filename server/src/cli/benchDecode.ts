// `repopot bench decode [--model DIR] [--workload eval|stories] [--blocks 4,8,16] [--max-tokens N] [--limit N]
//                       [--threshold T] [--exact-only] [--draft-candidates N] [--cost [--config FILE] [--quant int4|fp32]] [--json]`
import path from 'node:path';
import { runDecodeBench, runDecodeCost, type DecodeWorkload } from '../bench/decodeBench';
import { choiceOption, cliLog, command, emitJson, floatOption, intOption, interruptSignal, optionalInt, runCommand, type Values } from './args';
import { DEVICES, kvDtypeChoice, loadEngine, modelChoice, modelOptions, numberList, projectRoot, WEIGHT_FORMATS, withEngine } from './common';
import { DEFAULT_CLI_DEVICE } from '../vocab';

const positiveInts = (value: string | undefined, name: string) => numberList(value, name, (x) => Number.isInteger(x) && x >= 1, 'positive integers');

const benchDecodeFlags = {
  ...modelOptions(),
  quant: { ...modelOptions().quant, shows: 'fp32 (int4 with --cost)' },
  workload: { type: 'string', value: 'W', help: 'prompts', choices: ['eval', 'stories'], shows: 'eval for code models, else stories' },
  blocks: { type: 'string', value: 'N,N', help: 'block sizes', shows: '4,8,12,16 (2,4,8,12,16,32 with --cost)' },
  'max-tokens': { type: 'string', value: 'N', help: 'tokens per answer', shows: 96 },
  limit: { type: 'string', value: 'N', help: 'prompts', shows: 'all' },
  threshold: { type: 'string', value: 'T', help: 'confidence decoder threshold', shows: 'the decoder\'s' },
  'exact-only': { type: 'boolean', default: false, help: 'only the exact decoders' },
  'draft-candidates': { type: 'string', value: 'N', help: 'draft candidates per proposal', shows: 'by block size (draftCandidatesFor)' },
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out sets', shows: 'data/eval' },
  cost: { type: 'boolean', default: false, help: 'verification cost of one block at a real model\'s shape (random weights)' },
  config: { type: 'string', value: 'FILE', help: 'model config for --cost', shows: '../shared/configs/qwen2.5-coder-0.5b.json' },
  past: { type: 'string', value: 'N', help: 'cache length the --cost verification runs over', shows: 512 },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
} as const;

export const benchDecodeCommand = command('bench decode', benchDecodeFlags, {
  summary: 'Decoders (sequential, parallel exact, confidence, block diffusion): speed and exactness on real prompts, or --cost.',
});

export const runBenchDecode = (argv: string[]): Promise<number> => runCommand(argv, benchDecodeCommand, benchDecode);

async function benchDecode(values: Values<typeof benchDecodeFlags>): Promise<number> {
  const log = cliLog;
  const device = choiceOption(values.device, 'device', DEVICES, DEFAULT_CLI_DEVICE);
  if (values.cost) {
    await runDecodeCost({
      configPath: path.resolve(values.config ?? path.join(projectRoot(), '..', 'shared', 'configs', 'qwen2.5-coder-0.5b.json')),
      weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'int4'),
      blocks: positiveInts(values.blocks, 'blocks') ?? [2, 4, 8, 12, 16, 32],
      past: intOption(values.past, 'past', benchDecodeFlags.past.shows, 1),
      device,
      kvDtype: kvDtypeChoice(values['kv-dtype']),
      log,
    }, emitJson);
    return 0;
  }
  const workload = values.workload === undefined ? undefined : choiceOption<DecodeWorkload>(values.workload, 'workload', ['eval', 'stories'], 'eval');
  const blocks = positiveInts(values.blocks, 'blocks') ?? [4, 8, 12, 16];
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', benchDecodeFlags['max-tokens'].shows, 1);
  const limit = optionalInt(values.limit, 'limit', 1);
  const threshold = values.threshold === undefined ? undefined : floatOption(values.threshold, 'threshold', 0.9);
  return withEngine(loadEngine(modelChoice(values), log), async (engine) => {
    // RepoPot's Q&A tokens, a chat template or a real vocabulary: code questions. A 512-token story model
    // (stories260K) knows no code, so it gets story prompts.
    const codeModel = engine.tokenizer.tokenToId('<|question|>') !== undefined || engine.model.renderChat !== undefined || engine.config.vocabSize > 1024;
    const fallback: DecodeWorkload = codeModel ? 'eval' : 'stories';
    await runDecodeBench(engine, {
      workload: workload ?? fallback,
      evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
      limit,
      blocks,
      maxTokens,
      threshold,
      exactOnly: values['exact-only'],
      draftCandidates: optionalInt(values['draft-candidates'], 'draft-candidates', 1),
      signal: interruptSignal(),
      log,
    }, emitJson);
    return 0;
  });
}
