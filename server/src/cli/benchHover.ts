// `repopot bench hover --repo DIR [--model DIR] [--hovers N] [--deadline MS]`
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultServerJs, runHoverBench } from '../bench/hoverBench';
import { CliError, emitJson, intOption, parseOptions } from './args';
import { projectRoot, resolveModelDir } from './common';

export async function runBenchHover(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    repo: { type: 'string' },
    model: { type: 'string' },
    hovers: { type: 'string' },
    deadline: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'bench hover');
  if (!values.repo) throw new CliError('bench hover: --repo DIR is required');
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-hover-'));
  try {
    await runHoverBench({
      serverJs: defaultServerJs(projectRoot()),
      repo: path.resolve(values.repo),
      modelDir: resolveModelDir(values.model),
      cacheDir,
      hovers: intOption(values.hovers, 'hovers', 20, 1),
      deadlineMs: intOption(values.deadline, 'deadline', 2000, 1),
    }, values.json ? emitJson : (line) => process.stdout.write(`${JSON.stringify(line)}\n`));
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  return 0;
}
