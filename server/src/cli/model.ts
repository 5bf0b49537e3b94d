// `repopot model pull NAME | list`: model setup.
import path from 'node:path';
import { CliError, command, helpText, interruptSignal, parseCommand } from './args';
import { defaultCacheDir } from '../engine/paths';

const pullFlags = {
  dir: { type: 'string', value: 'DIR', help: 'where models are downloaded (into DIR/NAME)', shows: '$REPOPOT_CACHE_DIR/models' },
} as const;

export const modelPullCommand = command('model pull', pullFlags, {
  synopsis: 'NAME',
  summary: 'Downloads a known model (see "repopot model list") from the Hugging Face Hub; an interrupted download resumes.',
  positionals: true,
});

export const modelListCommand = command('model list', {}, { summary: 'Lists the models "repopot model pull" knows.' });

const USAGE = 'model: usage: repopot model pull NAME [--dir DIR] | repopot model list';

export async function runModel(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h') {
    process.stdout.write(`${helpText(modelPullCommand)}\n\n${helpText(modelListCommand)}\n`);
    return 0;
  }
  const { pullModel, KNOWN_MODELS } = await import('../model/pull');
  if (verb === 'list') {
    if (!parseCommand(rest, modelListCommand)) return 0;
    for (const [name, entry] of Object.entries(KNOWN_MODELS)) process.stdout.write(`${name.padEnd(30)} ${entry.repo}\n`);
    return 0;
  }
  if (verb !== 'pull') throw new CliError(USAGE);
  const parsed = parseCommand(rest, modelPullCommand);
  if (!parsed) return 0;
  const [name, ...extra] = parsed.positionals;
  if (!name || extra.length > 0) throw new CliError(USAGE);
  const destRoot = parsed.values.dir ? path.resolve(parsed.values.dir) : path.join(defaultCacheDir(), 'models');
  let lastReport = 0;
  const dir = await pullModel(name, destRoot, {
    signal: interruptSignal(),
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastReport < 500) return;
      lastReport = now;
      process.stderr.write(`\r${p.file}: ${(p.bytesDone / 1e6).toFixed(1)}${p.bytesTotal ? ` / ${(p.bytesTotal / 1e6).toFixed(1)}` : ''} MB   `);
    },
  });
  process.stderr.write('\n');
  process.stdout.write(`${dir}\n`);
  return 0;
}
