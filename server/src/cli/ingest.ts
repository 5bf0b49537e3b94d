// `repopot ingest --repo DIR`: stream a repository into the pot and print a summary.
import { Distiller } from '../distill/distiller';
import { emitJson, interruptSignal, parseOptions, cliLog } from './args';
import { distillFlags, distillOptions, fourierLayoutFor, openEngine, progressPrinter } from './distillCommon';

const HELP = `usage: repopot ingest --repo DIR [--budget N] [--chunk N] [--policy infinipot|streaming|h2o|tova|random|snapkv|full]
                      [--include GLOB]... [--exclude GLOB]... [--model DIR] [--device D] [--quant Q] [--no-cache] [--fourier] [--json]
  --fourier  pot with the Fourier tier (fourier.json beside the model): --budget counts the bytes of N plain slots`;

export async function runIngest(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, distillFlags, 'ingest');
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const log = cliLog;
  const options = distillOptions(values, interruptSignal());
  const engine = await openEngine(values, log);
  try {
    const distiller = new Distiller(engine);
    const summary = await distiller.ingest({ ...options, fourier: fourierLayoutFor(values, engine), onProgress: progressPrinter(values.json) });
    const line = {
      files: summary.files,
      skipped: summary.skipped,
      tokensSeen: summary.tokensSeen,
      tokensKept: summary.tokensKept,
      budget: summary.budget,
      cacheBytes: summary.cacheBytes,
      tokensPerSecond: summary.tokensPerSecond,
      peakRssBytes: summary.peakRssBytes,
      policy: summary.policy,
      compressions: summary.compressions,
      compressMs: summary.compressMs,
      maxPosition: summary.maxPosition,
      source: summary.source,
    };
    if (values.json) emitJson(line);
    else process.stdout.write(`\n${JSON.stringify(line, null, 2)}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}
