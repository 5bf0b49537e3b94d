// `repopot bench <suite>`: benchmarks writing JSON lines (see docs/benchmarks.md). Suites load lazily.
import { CliError } from './args';
import { registryEntry, registryNames } from '../util/registry';

type Suite = { run: (argv: string[]) => Promise<number>; summary: string };

export const BENCH_SUITES: Readonly<Record<string, Suite>> = {
  engine: { summary: 'our engine vs the memory-bandwidth roofline and llama.cpp', run: async (argv) => (await import('./benchEngine')).runBenchEngine(argv) },
  distill: { summary: 'cache policies: needle-in-a-haystack, lookup, cost', run: async (argv) => (await import('./benchDistill')).runBenchDistill(argv) },
  hover: { summary: 'hover latency through the language server', run: async (argv) => (await import('./benchHover')).runBenchHover(argv) },
  steer: { summary: 'KV-cache steering: plain vs cot vs steered', run: async (argv) => (await import('./benchSteer')).runBenchSteer(argv) },
  decode: { summary: 'decoders: speed and exactness', run: async (argv) => (await import('./benchDecode')).runBenchDecode(argv) },
};

export function benchUsage(): string {
  const lines = ['usage: repopot bench <suite> [options]', '', 'suites:'];
  for (const [name, { summary }] of Object.entries(BENCH_SUITES)) lines.push(`  ${name.padEnd(8)} ${summary}`);
  lines.push('', 'Run "repopot bench <suite> --help" for its options.');
  return lines.join('\n');
}

export async function runBench(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (suite === '--help' || suite === '-h') {
    process.stdout.write(benchUsage() + '\n');
    return 0;
  }
  const entry = suite ? registryEntry(BENCH_SUITES, suite) : undefined;
  if (!entry) throw new CliError(`bench: choose a suite: ${registryNames(BENCH_SUITES).join(', ')}`);
  return entry.run(rest);
}
