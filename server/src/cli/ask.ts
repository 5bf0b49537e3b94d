// `repopot ask "QUESTION" --repo DIR`: distill the repository (or reuse its saved pot) and answer with sources.
import { makeDecoder } from '../decode/index';
import { DECODERS, DEFAULT_CLI_ANSWER_TOKENS, DEFAULT_DECODER, DEFAULT_REREAD_TOKENS, DEFAULT_SNAP_PATHS, DEFAULT_SNAP_VALUES, type DecoderSetting } from '../vocab';
import { choiceOption, CliError, cliLog, command, emitJson, intOption, interruptSignal, runCommand, type Values } from './args';
import { distillFlags, summaryLine, withIngested } from './distillCommon';
import { checkAnswer, diskRepo, formatVerdict } from '../check/index';
import { leadWithConfirmation } from '../distill/provenance';
import { snapKind } from '../distill/distiller';

const ON_OFF = ['on', 'off'] as const;
const DEFAULT_SNAP = DEFAULT_SNAP_PATHS ? 'on' : 'off';
const DEFAULT_SNAP_VALUE = DEFAULT_SNAP_VALUES ? 'on' : 'off';

const askFlags = {
  ...distillFlags,
  'max-tokens': { type: 'string', value: 'N', help: 'longest answer, in tokens', shows: DEFAULT_CLI_ANSWER_TOKENS },
  decoder: { type: 'string', value: 'D', help: 'how the answer is decoded', choices: DECODERS, shows: DEFAULT_DECODER },
  refine: { type: 'string', value: 'SHARE', help: 'query-aware refinement: keep this share (0-1] of the pot\'s slots, ranked by the attention the question puts on them', shows: 'off' },
  reread: { type: 'string', value: 'N', help: 'query-aware re-read: before asking, put back up to N tokens of the repository lines that name what the question asks about (its definition first), with their file headers; 0 = off', shows: DEFAULT_REREAD_TOKENS },
  'snap-paths': { type: 'string', value: 'on|off', help: 'path snapping: an answer that starts writing a path of the repository finishes it as that path (sequential decoding)', choices: ON_OFF, shows: DEFAULT_SNAP },
  'snap-values': { type: 'string', value: 'on|off', help: 'value snapping: the answer to "what does X equal?" ("what parameters does X take?") is one whole value (parameter list) of a file that names X', choices: ON_OFF, shows: DEFAULT_SNAP_VALUE },
  json: { type: 'boolean', default: false, help: 'one JSON line on stdout (answer, sources, tokensKept ...), no progress' },
} as const;

export const askCommand = command('ask', askFlags, {
  synopsis: '"QUESTION" --repo DIR',
  summary: 'Distills the repository (or reuses its saved pot) and answers the question, with the sources it drew on.',
  positionals: true,
});

export const runAsk = (argv: string[]): Promise<number> => runCommand(argv, askCommand, ask);

async function ask(values: Values<typeof askFlags>, positionals: string[]): Promise<number> {
  // Every option is checked before the repository is read or the model loaded.
  const question = positionals.join(' ').trim();
  if (!question) throw new CliError('ask: give the question as an argument (see "repopot ask --help")');
  const refine = values.refine === undefined ? undefined : Number(values.refine);
  if (refine !== undefined && !(refine > 0 && refine <= 1)) throw new CliError(`--refine must be a share in (0, 1] (got "${values.refine}")`);
  const reread = intOption(values.reread, 'reread', DEFAULT_REREAD_TOKENS, 0);
  const snapPaths = choiceOption(values['snap-paths'], 'snap-paths', ON_OFF, DEFAULT_SNAP) === 'on';
  const snapValues = choiceOption(values['snap-values'], 'snap-values', ON_OFF, DEFAULT_SNAP_VALUE) === 'on';
  const decoderSetting = choiceOption<DecoderSetting>(values.decoder, 'decoder', DECODERS, DEFAULT_DECODER);
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', DEFAULT_CLI_ANSWER_TOKENS, 1);
  const signal = interruptSignal();
  return withIngested(values, signal, async ({ request, engine, distiller, summary }) => {
    if (!values.json) process.stderr.write(`\r${summaryLine(summary)}\n`);
    // Parallel decoders draft from the repository lines the pot holds.
    const decoder = decoderSetting === 'sequential' ? undefined : await makeDecoder(engine, decoderSetting, { history: distiller.history(), log: cliLog });
    // The repository's files, read once for the re-read and the value snap.
    const files = reread > 0 || (snapValues && snapKind(question) !== undefined) ? await distiller.files() : undefined;
    const answer = await distiller.ask(question, {
      decoder,
      refine,
      reread: files && reread > 0 ? { files, maxTokens: reread } : undefined,
      snapPaths: snapPaths ? distiller.filePaths() : undefined,
      snapValues: snapValues ? files : undefined,
      maxTokens,
      signal,
      onText: values.json ? undefined : (t) => process.stdout.write(t),
    });
    // The answer checked against the repository; a confirming line leads the sources.
    const check = answer.stopReason === 'cancelled' ? undefined : await checkAnswer(question, answer.answer, diskRepo(request.options.repo, summary.filePaths), signal);
    const sources = check?.status === 'checked' ? leadWithConfirmation(answer.sources, check) : answer.sources;
    const verdict = check
      ? { status: check.status, ...(check.file ? { file: check.file } : {}), ...(check.line ? { line: check.line } : {}), detail: check.detail }
      : { status: 'unverifiable' as const, detail: 'the answer was stopped' };
    if (values.json) {
      emitJson({ answer: answer.answer, sources, policy: summary.policy, budget: summary.budget, tokensSeen: summary.tokensSeen, tokensKept: summary.tokensKept, pot: summary.source, check: verdict });
    } else {
      process.stdout.write('\n\nSources:\n');
      for (const s of sources) process.stdout.write(`  ${s.file}:${s.startLine}-${s.endLine}  (${(s.weight * 100).toFixed(0)}%)\n`);
      process.stdout.write(`\nCheck: ${check ? formatVerdict(check) : 'not checked: the answer was stopped'}\n`);
    }
    return 0;
  });
}
