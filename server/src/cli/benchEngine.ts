// `repopot bench engine --config FILE --quant int4|int8|fp16|fp32 [--peers repopot,repopot-fp16,llama.cpp] [--json]`: our engine vs the
// memory-bandwidth roofline and llama.cpp on the same random weights at a real model's shape.
import path from 'node:path';
import { runEngineBench, type PeerName } from '../bench/engineBench';
import { choiceOption, CliError, cliLog, command, emitJson, intOption, runCommand, type Values } from './args';
import { modelOptions, numberList, WEIGHT_FORMATS } from './common';

const PEERS = ['repopot', 'repopot-fp16', 'repopot-headT', 'llama.cpp'] as const satisfies readonly PeerName[];

const benchEngineFlags = {
  config: { type: 'string', value: 'FILE', help: 'a real model\'s config.json (the shape; weights are random) (required)' },
  quant: { ...modelOptions().quant, shows: 'int4' },
  peers: { type: 'string', value: 'P,P', help: 'engines to measure: repopot, repopot-fp16 (ours with the fp16 KV cache), repopot-headT (ours reading a head-major past in place), llama.cpp', shows: 'repopot,llama.cpp' },
  'cache-lengths': { type: 'string', value: 'N,N', help: 'decode cache lengths', shows: 'the bench\'s' },
  'decode-steps': { type: 'string', value: 'N', help: 'decode steps per length', shows: 'the bench\'s' },
  threads: { type: 'string', value: 'N', help: 'threads', shows: 'physical cores' },
  'no-bandwidth': { type: 'boolean', default: false, help: 'skip measuring memory bandwidth (no roofline)' },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
} as const;

export const benchEngineCommand = command('bench engine', benchEngineFlags, { synopsis: '--config FILE', required: 'config', summary: 'Our engine vs the memory-bandwidth roofline and llama.cpp, on the same random weights at a real model\'s shape.' });

export const runBenchEngine = (argv: string[]): Promise<number> => runCommand(argv, benchEngineCommand, benchEngine);

async function benchEngine(values: Values<typeof benchEngineFlags>): Promise<number> {
  const peers = values.peers?.split(',') as PeerName[] | undefined;
  for (const p of peers ?? []) if (!(PEERS as readonly string[]).includes(p)) throw new CliError(`--peers: unknown peer "${p}" (${PEERS.join(', ')})`);
  const cacheLengths = numberList(values['cache-lengths'], 'cache-lengths', (x) => Number.isInteger(x) && x >= 1, 'positive integers');
  await runEngineBench({
    configPath: path.resolve(values.config!),
    quant: choiceOption(values.quant, 'quant', WEIGHT_FORMATS, 'int4'),
    peers,
    cacheLengths,
    decodeSteps: values['decode-steps'] === undefined ? undefined : intOption(values['decode-steps'], 'decode-steps', 0, 1),
    threads: values.threads === undefined ? undefined : intOption(values.threads, 'threads', 0, 1),
    bandwidth: values['no-bandwidth'] ? false : undefined,
    log: cliLog,
  }, emitJson);
  return 0;
}
