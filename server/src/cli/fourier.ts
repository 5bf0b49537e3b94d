// `repopot fourier calibrate --model DIR`: chooses, per layer and KV head, the head dimensions the
// Fourier tier approximates (by the attention-output error on held-out code) and writes them, with the
// numbers behind the choice, to DIR/fourier.json (or --out).
import path from 'node:path';
import { loadModel } from '../model/import';
import { calibrate } from '../fourier/calibrate';
import { heldOutSequences } from '../fourier/heldOut';
import { approximatedShare, FOURIER_FILE, saveLayout } from '../fourier/layout';
import { CliError, cliLog, emitJson, floatOption, intOption, parseOptions } from './args';
import { projectRoot, resolveModelDir } from './common';

const HELP = `usage: repopot fourier calibrate [--model DIR] [--out FILE] [--sequences N] [--tokens N]
                                 [--share S] [--ratio R] [--sink N] [--window N] [--json]
  Picks the long-context-insensitive dims of every layer and KV head by the attention-output error a
  truncated spectral (DCT) approximation of their history causes on held-out code (data/eval, even-numbered
  repositories; the benchmark uses the odd-numbered ones).
  --sequences    held-out repositories to average over (default 3)
  --tokens       tokens per sequence (default min(512, context))
  --share        share of all K/V floats per slot to approximate (default 0.75), ranked over the
                 whole model by error per float (key dims go by RoPE pair)
  --ratio        spectrum length as a share of the tier horizon (default 0.125)
  --out          default DIR/${FOURIER_FILE}, beside the model`;

export async function runFourier(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === undefined) {
    process.stdout.write(HELP + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'calibrate') throw new CliError(`fourier: unknown subcommand "${verb}" (use: fourier calibrate)`);
  const { values } = parseOptions(rest, {
    model: { type: 'string' },
    out: { type: 'string' },
    sequences: { type: 'string' },
    tokens: { type: 'string' },
    share: { type: 'string' },
    ratio: { type: 'string' },
    sink: { type: 'string' },
    window: { type: 'string' },
    'eval-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, 'fourier calibrate');
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const modelDir = resolveModelDir(values.model);
  const out = path.resolve(values.out ?? path.join(modelDir, FOURIER_FILE));
  const share = floatOption(values.share, 'share', 0.75);
  if (!(share >= 0 && share <= 1)) throw new CliError('--share must be in [0, 1]');
  const ratio = floatOption(values.ratio, 'ratio', 0.125);
  if (!(ratio > 0 && ratio <= 1)) throw new CliError('--ratio must be in (0, 1]');
  const model = await loadModel(modelDir);
  if (!model.tokenizer) throw new CliError(`${modelDir}: the model has no tokenizer`);
  const tokens = intOption(values.tokens, 'tokens', Math.min(512, model.config.maxPositions), 64);
  const evalDir = path.resolve(values['eval-dir'] ?? path.join(projectRoot(), 'data', 'eval'));
  const sequences = heldOutSequences(model.tokenizer, evalDir, 'calibration', intOption(values.sequences, 'sequences', 3, 1), tokens);
  if (sequences.length === 0) throw new CliError(`no held-out repository in ${evalDir} has ${tokens} tokens`);
  const started = performance.now();
  const layout = await calibrate(model.config, model.weights, sequences, {
    share,
    coefficientRatio: ratio,
    sink: intOption(values.sink, 'sink', 4, 0),
    window: intOption(values.window, 'window', 32, 1),
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
