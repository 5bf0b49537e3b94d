// `repopot bench hover --repo DIR [--model DIR] [--hovers N] [--deadline MS]`
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultServerJs, runHoverBench } from '../bench/hoverBench';
import { CliError, command, emitJson, intOption, runCommand, type Values } from './args';
import { modelOptions, projectRoot, resolveModelDir } from './common';

const benchHoverFlags = {
  repo: { type: 'string', value: 'DIR', help: 'the workspace to hover in (required)' },
  model: modelOptions().model,
  hovers: { type: 'string', value: 'N', help: 'hovers to measure', shows: 20 },
  deadline: { type: 'string', value: 'MS', help: 'hover deadline', shows: 2000 },
  json: { type: 'boolean', default: false, help: 'JSON lines' },
} as const;

export const benchHoverCommand = command('bench hover', benchHoverFlags, {
  synopsis: '--repo DIR',
  summary: 'Hover latency through the language server (built dist/server.js), as the extension sees it.',
});

export const runBenchHover = (argv: string[]): Promise<number> => runCommand(argv, benchHoverCommand, benchHover);

async function benchHover(values: Values<typeof benchHoverFlags>): Promise<number> {
  if (!values.repo) throw new CliError('bench hover: --repo DIR is required');
  const hovers = intOption(values.hovers, 'hovers', benchHoverFlags.hovers.shows, 1);
  const deadlineMs = intOption(values.deadline, 'deadline', benchHoverFlags.deadline.shows, 1);
  const modelDir = resolveModelDir(values.model);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-hover-'));
  try {
    await runHoverBench({
      serverJs: defaultServerJs(projectRoot()),
      repo: path.resolve(values.repo),
      modelDir,
      cacheDir,
      hovers,
      deadlineMs,
    }, emitJson);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  return 0;
}
