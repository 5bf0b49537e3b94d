// `repopot model pull NAME | list`: model setup.
import path from 'node:path';
import { CliError, interruptSignal } from './args';
import { defaultCacheDir } from '../engine/paths';

export async function runModel(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { pullModel, KNOWN_MODELS } = await import('../model/pull');
  if (verb === 'list') {
    for (const [name, entry] of Object.entries(KNOWN_MODELS)) process.stdout.write(`${name.padEnd(30)} ${entry.repo}\n`);
    return 0;
  }
  if (verb !== 'pull' || rest.length === 0) throw new CliError('model: usage: repopot model pull NAME [--dir DIR] | repopot model list');
  const [name, ...opts] = rest;
  const dirIndex = opts.indexOf('--dir');
  const destRoot = dirIndex >= 0 && opts[dirIndex + 1] ? path.resolve(opts[dirIndex + 1]) : path.join(defaultCacheDir(), 'models');
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
