// `repopot fourier calibrate --model DIR`: chooses, per layer and KV head, the head dimensions the
// Fourier tier approximates (by the attention-output error on held-out code) and writes them, with the
// numbers behind the choice, to DIR/fourier.json (or --out).
import path from 'node:path';
import { loadModel } from '../model/import';
import { calibrate } from '../fourier/calibrate';
import { heldOutLookupSequences, heldOutSequences } from '../bench/fourierHeldOut';
import { approximatedShare, CALIBRATION_DEFAULTS, CALIBRATION_OBJECTIVES, FOURIER_FILE, saveLayout, type CalibrationObjective } from '../fourier/layout';
import { choiceOption, CliError, cliLog, emitJson, floatOption, helpText, intOption, parseCommand, type CommandSpec } from './args';
import { projectRoot, resolveModelDir } from './common';
import { OWN_MODEL } from '../vocab';

const fourierCalibrateFlags = {
  model: { type: 'string', value: 'DIR', help: 'model folder (Hugging Face or llama2.c)', shows: `models/${OWN_MODEL}` },
  out: { type: 'string', value: 'FILE', help: 'where the calibration is written', shows: `DIR/${FOURIER_FILE}, beside the model` },
  objective: { type: 'string', value: 'O', help: 'which rows the attention-output error is scored on: code (the last 32 rows of held-out code) or lookup (the question and answer after a held-out repository; models with RepoPot\'s question tokens)', choices: CALIBRATION_OBJECTIVES, shows: 'lookup if the model has RepoPot\'s question tokens, else code' },
  sequences: { type: 'string', value: 'N', help: 'held-out repositories (code) or questions (lookup) to average over', shows: '3 (code), 12 (lookup)' },
  tokens: { type: 'string', value: 'N', help: 'tokens per sequence (code), at most (lookup)', shows: 'min(512, context) (code), min(1024, context) (lookup)' },
  share: { type: 'string', value: 'S', help: 'share of all K/V floats per slot to approximate, ranked over the whole model by error per float (key dims go by RoPE pair)', shows: `${CALIBRATION_DEFAULTS.lookup.share} (lookup), ${CALIBRATION_DEFAULTS.code.share} (code)` },
  ratio: { type: 'string', value: 'R', help: 'spectrum length as a share of the tier horizon', shows: `${CALIBRATION_DEFAULTS.lookup.coefficientRatio} (lookup), ${CALIBRATION_DEFAULTS.code.coefficientRatio} (code)` },
  sink: { type: 'string', value: 'N', help: 'attention-sink slots kept exact', shows: 4 },
  window: { type: 'string', value: 'N', help: 'recent slots kept exact', shows: 32 },
  'eval-dir': { type: 'string', value: 'DIR', help: 'held-out sets', shows: 'data/eval' },
  json: { type: 'boolean', default: false, help: 'one JSON line' },
} as const;

export const fourierCalibrateCommand = {
  name: 'fourier calibrate',
  summary: 'Picks, per layer and KV head, the head dimensions the Fourier tier approximates, by the attention-output error on held-out code, and writes them with the numbers behind them to fourier.json beside the model.',
  options: fourierCalibrateFlags,
  notes: `Picks the long-context-insensitive dims of every layer and KV head by the attention-output error a truncated
spectral (DCT) approximation of their history causes. Objective lookup (the default for models with RepoPot's question
tokens): the rows scored are the question and answer after a held-out repository, the rows that must find the evidence,
on the calibration half of the held-out packages (bench distill --suite lookup --split evaluation judges on the other
half). Objective code: the last 32 rows of held-out code (data/eval, even-numbered repositories; the loss benchmark uses
the odd-numbered ones).`,
} as const satisfies CommandSpec<typeof fourierCalibrateFlags>;

export async function runFourier(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === undefined) {
    process.stdout.write(helpText(fourierCalibrateCommand) + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'calibrate') throw new CliError(`fourier: unknown subcommand "${verb}" (use: fourier calibrate)`);
  const parsed = parseCommand(rest, fourierCalibrateCommand);
  if (!parsed) return 0;
  const { values } = parsed;
  const modelDir = resolveModelDir(values.model);
  const out = path.resolve(values.out ?? path.join(modelDir, FOURIER_FILE));
  // Flags are checked before the model loads; the defaults that depend on the objective are filled in after.
  const askedObjective = values.objective === undefined ? undefined : choiceOption(values.objective, 'objective', CALIBRATION_OBJECTIVES, 'code');
  const askedShare = values.share === undefined ? undefined : floatOption(values.share, 'share', 0);
  if (askedShare !== undefined && !(askedShare >= 0 && askedShare <= 1)) throw new CliError('--share must be in [0, 1]');
  const askedRatio = values.ratio === undefined ? undefined : floatOption(values.ratio, 'ratio', 0);
  if (askedRatio !== undefined && !(askedRatio > 0 && askedRatio <= 1)) throw new CliError('--ratio must be in (0, 1]');
  const model = await loadModel(modelDir);
  if (!model.tokenizer) throw new CliError(`${modelDir}: the model has no tokenizer`);
  const asksQuestions = model.tokenizer.tokenToId('<|question|>') !== undefined && model.tokenizer.tokenToId('<|answer|>') !== undefined;
  const objective: CalibrationObjective = askedObjective ?? (asksQuestions ? 'lookup' : 'code');
  const lookup = objective === 'lookup';
  if (lookup && !asksQuestions) throw new CliError(`${modelDir}: --objective lookup needs RepoPot's question tokens (<|question|>, <|answer|>); this model has none, use --objective code`);
  const share = askedShare ?? CALIBRATION_DEFAULTS[objective].share;
  const ratio = askedRatio ?? CALIBRATION_DEFAULTS[objective].coefficientRatio;
  const tokens = intOption(values.tokens, 'tokens', Math.min(lookup ? 1024 : 512, model.config.maxPositions), 64);
  const count = intOption(values.sequences, 'sequences', lookup ? 12 : 3, 1);
  const evalDir = path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval'));
  const sequences = lookup
    ? heldOutLookupSequences(model.tokenizer, evalDir, 'calibration', count, tokens, model.config.bosTokenId)
    : heldOutSequences(model.tokenizer, evalDir, 'calibration', count, tokens);
  if (sequences.length === 0) throw new CliError(lookup ? `no held-out where/const question in ${evalDir} fits ${tokens} tokens` : `no held-out repository in ${evalDir} has ${tokens} tokens`);
  const started = performance.now();
  const layout = await calibrate(model.config, model.weights, sequences, {
    share,
    objective,
    coefficientRatio: ratio,
    sink: intOption(values.sink, 'sink', fourierCalibrateFlags.sink.shows, 0),
    window: intOption(values.window, 'window', fourierCalibrateFlags.window.shows, 1),
    log: cliLog,
  });
  layout.model = path.basename(modelDir);
  layout.weightsHash = model.weightsHash;
  saveLayout(out, layout);
  const ev = layout.evidence!;
  const mean = (t: number[][]) => t.flat().reduce((a, b) => a + b, 0) / t.flat().length;
  const line = {
    out,
    sequences: ev.sequences,
    approximatedShare: approximatedShare(layout),
    coefficientRatio: layout.coefficientRatio,
    meanChosenError: mean(ev.chosenError),
    meanByIndexError: mean(ev.byIndexError),
    ratioSweep: ev.ratioSweep,
    seconds: (performance.now() - started) / 1000,
  };
  if (values.json) emitJson(line);
  else {
    process.stdout.write(`wrote ${out}: ${(line.approximatedShare * 100).toFixed(0)}% of K/V dims approximated with ${ratio} × horizon coefficients\n`);
    process.stdout.write(`attention-output error (relative, mean over heads): chosen ${line.meanChosenError.toExponential(2)} vs by index ${line.meanByIndexError.toExponential(2)}\n`);
    process.stdout.write(`spectrum length sweep: ${ev.ratioSweep.map((s) => `${s.ratio}→${s.error.toExponential(2)}`).join(', ')}\n`);
  }
  return 0;
}
