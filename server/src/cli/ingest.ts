// `repopot ingest --repo DIR`: stream a repository into the pot and print a summary.
import { command, emitJson, interruptSignal, runCommand } from './args';
import { distillFlags, withIngested } from './distillCommon';

export const ingestCommand = command('ingest', distillFlags, {
  synopsis: '--repo DIR',
  summary: 'Streams a repository into the pot (the distilled KV cache) and prints a summary; the pot is saved for `ask`.',
});

export function runIngest(argv: string[]): Promise<number> {
  return runCommand(argv, ingestCommand, (values) =>
    withIngested(values, interruptSignal(), async ({ summary }) => {
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
    }),
  );
}
