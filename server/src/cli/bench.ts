// `repopot bench <suite>`: benchmarks writing JSON lines (see docs/benchmarks.md).
import { CliError } from './args';

const suites = new Map<string, (argv: string[]) => Promise<number>>([
  ['engine', async (argv) => (await import('./benchEngine')).runBenchEngine(argv)],
  ['distill', async (argv) => (await import('./benchDistill')).runBenchDistill(argv)],
  ['hover', async (argv) => (await import('./benchHover')).runBenchHover(argv)],
  ['steer', async (argv) => (await import('./benchSteer')).runBenchSteer(argv)],
  ['decode', async (argv) => (await import('./benchDecode')).runBenchDecode(argv)],
]);

export async function runBench(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  const run = suite ? suites.get(suite) : undefined;
  if (!run) throw new CliError(`bench: choose a suite: ${[...suites.keys()].join(', ')}`);
  return run(rest);
}
