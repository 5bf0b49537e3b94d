import { runEngineBench } from '../engineBench';
import type { WeightFormat } from '../../graph/contract';
async function main(): Promise<void> {
  const [config, quant, steps, lengths, repeats] = process.argv.slice(2);
  const t0 = Date.now();
  await runEngineBench(
    {
      configPath: config,
      quant: quant as WeightFormat,
      decodeSteps: Number(steps ?? 32),
      cacheLengths: (lengths ?? '1024,4096').split(',').map(Number),
      prefillRepeats: Number(repeats ?? 3),
      log: (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`),
    },
    (line) => process.stdout.write(JSON.stringify(line) + '\n'),
  );
  process.stderr.write(`total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
main().catch((e) => { console.error(e); process.exit(1); });
