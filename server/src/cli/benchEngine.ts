// `repopot bench engine --config FILE --quant int4|int8|fp16|fp32 [--json]`: our engine vs the
// memory-bandwidth roofline and llama.cpp on the same random weights at a real model's shape.
import path from 'node:path';
import { runEngineBench, type PeerName } from '../bench/engineBench';
import { choiceOption, CliError, emitJson, intOption, parseOptions, cliLog } from './args';
import { WEIGHT_FORMATS } from './common';

const HELP = `usage: repopot bench engine --config FILE [--quant int4|int8|fp16|fp32] [--peers repopot,llama.cpp]
                          [--cache-lengths 1024,4096] [--decode-steps N] [--threads N] [--json]`;

export async function runBenchEngine(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    config: { type: 'string' },
    quant: { type: 'string' },
    peers: { type: 'string' },
    'cache-lengths': { type: 'string' },
    'decode-steps': { type: 'string' },
    threads: { type: 'string' },
    'no-bandwidth': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, 'bench engine');
  if (values.help || !values.config) {
    process.stdout.write(HELP + '\n');
    return values.help ? 0 : 2;
  }
  const peers = values.peers?.split(',') as PeerName[] | undefined;
  for (const p of peers ?? []) if (p !== 'repopot' && p !== 'llama.cpp') throw new CliError(`--peers: unknown peer "${p}" (repopot, llama.cpp)`);
  const cacheLengths = values['cache-lengths']?.split(',').map((v) => intOption(v, 'cache-lengths', 0, 1));
  const print = values.json ? emitJson : (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  await runEngineBench({
    configPath: path.resolve(values.config),
    quant: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'int4'),
    peers,
    cacheLengths,
    decodeSteps: values['decode-steps'] === undefined ? undefined : intOption(values['decode-steps'], 'decode-steps', 0, 1),
    threads: values.threads === undefined ? undefined : intOption(values.threads, 'threads', 0, 1),
    bandwidth: values['no-bandwidth'] ? false : undefined,
    log: cliLog,
  }, print);
  return 0;
}
