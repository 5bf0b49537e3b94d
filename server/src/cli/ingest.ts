// `repopot ingest --repo DIR`: stream a repository into the pot and print a summary.
import { Distiller } from '../distill/distiller';
import { emitJson, interruptSignal, parseCommand, cliLog, type CommandSpec } from './args';
import { distillFlags, distillRequest, nothingToReadMessage, openEngineFor, progressPrinter, walkForIngest } from './distillCommon';

export const ingestCommand = {
  name: 'ingest',
  synopsis: '--repo DIR',
  summary: 'Streams a repository into the pot (the distilled KV cache) and prints a summary; the pot is saved for `ask`.',
  options: distillFlags,
} as const satisfies CommandSpec<typeof distillFlags>;

export async function runIngest(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, ingestCommand);
  if (!parsed) return 0;
  const { values } = parsed;
  const request = distillRequest(values);
  const signal = interruptSignal();
  const walk = await walkForIngest(request, signal);
  // Nothing to read is an error (with the skip counts), before the model is loaded.
  if (walk.files.length === 0) throw new Error(nothingToReadMessage(request.options.repo, walk));
  const engine = await openEngineFor(request, cliLog);
  try {
    const distiller = new Distiller(engine);
    const summary = await distiller.ingest({ ...request.options, walk, signal, onProgress: progressPrinter(values.json) });
    const line = {
      files: summary.files,
      filesSeen: summary.filesSeen,
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
