// `repopot ask "QUESTION" --repo DIR`: distill the repository (or reuse its saved pot) and answer with sources.
import { Distiller } from '../distill/distiller';
import { choiceOption, CliError, emitJson, intOption, interruptSignal, parseOptions, cliLog } from './args';
import { makeDecoder } from '../decode/index';
import { potHistory } from '../decode/history';
import { distillFlags, distillOptions, fourierLayoutFor, openEngine, progressPrinter } from './distillCommon';

const HELP = `usage: repopot ask "QUESTION" --repo DIR [--max-tokens N] [--budget N] [--policy P] [--model DIR]
                    [--decoder sequential|parallel|confidence|auto] [--refine SHARE] [--fourier] [--json]
  --fourier        pot with the Fourier tier (fourier.json beside the model): --budget counts the bytes of N plain slots
  --refine SHARE   query-aware refinement: before answering, keep this share (0-1] of the pot's slots,
                   ranked by the attention the question puts on them (default: off)`;

export async function runAsk(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, { ...distillFlags, 'max-tokens': { type: 'string' }, decoder: { type: 'string' }, refine: { type: 'string' } }, 'ask', true);
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const question = positionals.join(' ').trim();
  if (!question) throw new CliError('ask: give the question as an argument');
  const refine = values.refine === undefined ? undefined : Number(values.refine);
  if (refine !== undefined && !(refine > 0 && refine <= 1)) throw new CliError(`--refine must be a share in (0, 1] (got "${values.refine}")`);
  const log = cliLog;
  const signal = interruptSignal();
  const options = distillOptions(values, signal);
  const engine = await openEngine(values, log);
  try {
    const distiller = new Distiller(engine);
    const summary = await distiller.ingest({ ...options, fourier: fourierLayoutFor(values, engine), onProgress: progressPrinter(values.json) });
    if (!values.json) process.stderr.write(`\r${summary.source === 'reused' ? 'reused the saved pot' : `read ${summary.files} files`} · ${summary.tokensSeen} tokens → ${summary.tokensKept} kept (${summary.policy})\n`);
    const decoderSetting = choiceOption(values.decoder, 'decoder', ['sequential', 'parallel', 'confidence', 'auto'] as const, 'sequential');
    // Parallel decoders draft from the repository lines the pot holds.
    const decoder = decoderSetting === 'sequential' || !distiller.pot
      ? undefined
      : await makeDecoder(engine, decoderSetting, { history: potHistory(distiller.pot.cache.tags(), options.repo, engine.tokenizer), log });
    const answer = await distiller.ask(question, {
      decoder,
      refine,
      maxTokens: intOption(values['max-tokens'], 'max-tokens', 128, 1),
      signal,
      onText: values.json ? undefined : (t) => process.stdout.write(t),
    });
    if (values.json) {
      emitJson({ answer: answer.answer, sources: answer.sources, policy: summary.policy, budget: summary.budget, tokensSeen: summary.tokensSeen, pot: summary.source });
    } else {
      process.stdout.write('\n\nSources:\n');
      for (const s of answer.sources) process.stdout.write(`  ${s.file}:${s.startLine}-${s.endLine}  (${(s.weight * 100).toFixed(0)}%)\n`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
