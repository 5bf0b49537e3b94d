// `repopot bench decode [--model DIR] [--workload eval|stories] [--blocks 4,8,16] [--max-tokens N] [--limit N]
//                       [--threshold T] [--exact-only] [--cost [--config FILE] [--quant int4|fp32]] [--json]`
import path from 'node:path';
import { runDecodeBench, runDecodeCost, type DecodeWorkload } from '../bench/decodeBench';
import { Engine } from '../engine/engine';
import { choiceOption, CliError, emitJson, floatOption, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { DEVICES, projectRoot, resolveModelDir, WEIGHT_FORMATS } from './common';

function blockList(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const xs = value.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new CliError('--blocks must be a comma-separated list of positive integers');
  return xs;
}

export async function runBenchDecode(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    workload: { type: 'string' },
    blocks: { type: 'string' },
    'max-tokens': { type: 'string' },
    limit: { type: 'string' },
    threshold: { type: 'string' },
    'exact-only': { type: 'boolean', default: false },
    'eval-dir': { type: 'string' },
    cost: { type: 'boolean', default: false },
    config: { type: 'string' },
    past: { type: 'string' },
    device: { type: 'string' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'bench decode');
  const log = cliLog;
  const emit = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const device = choiceOption(values.device, 'device', DEVICES, 'cpu');
  if (values.cost) {
    await runDecodeCost({
      configPath: path.resolve(values.config ?? path.join(projectRoot(), '..', 'shared', 'configs', 'qwen2.5-coder-0.5b.json')),
      weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'int4'),
      blocks: blockList(values.blocks, [2, 4, 8, 12, 16, 32]),
      past: intOption(values.past, 'past', 512, 1),
      device,
      log,
    }, emit);
    return 0;
  }
  const modelDir = resolveModelDir(values.model);
  const engine = await Engine.load(modelDir, { device, weights: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'fp32'), log });
  try {
    // RepoPot's Q&A tokens, a chat template or a real vocabulary: code questions. A 512-token story model
    // (stories260K) knows no code, so it gets story prompts.
    const codeModel = engine.tokenizer.tokenToId('<|question|>') !== undefined || engine.model.renderChat !== undefined || engine.config.vocabSize > 1024;
    const fallback: DecodeWorkload = codeModel ? 'eval' : 'stories';
    await runDecodeBench(engine, {
      workload: choiceOption<DecodeWorkload>(values.workload, 'workload', ['eval', 'stories'], fallback),
      evalDir: path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval')),
      limit: values.limit === undefined ? undefined : intOption(values.limit, 'limit', 0, 1),
      blocks: blockList(values.blocks, [4, 8, 12, 16]),
      maxTokens: intOption(values['max-tokens'], 'max-tokens', 96, 1),
      threshold: values.threshold === undefined ? undefined : floatOption(values.threshold, 'threshold', 0.9),
      exactOnly: values['exact-only'],
      signal: interruptSignal(),
      log,
    }, emit);
    return 0;
  } finally {
    await engine.dispose();
  }
}
