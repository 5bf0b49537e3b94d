// `repopot bench hover --repo DIR`: hover latency through the real bundled language server (JSON-RPC
// over IPC, as VS Code speaks it): wait for ingest, then hover distinct identifiers (uncached) and
// report p50/p90 against the deadline. One JSON line per hover, then a summary line.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-languageserver-protocol/node';
import { statusNotification, type StatusParams } from '../lsp/protocol';
import { walkRepository } from '../distill/repoWalker';
import { median, percentile } from '../util/stats';

export interface HoverBenchOptions {
  serverJs: string;
  repo: string;
  modelDir: string;
  cacheDir: string;
  hovers: number;
  deadlineMs: number;
}

type Emit = (line: Record<string, unknown>) => void;

/** Up to `count` identifier occurrences (distinct names) across the repository's code files. */
function hoverTargets(files: { path: string; absPath: string; text: string }[], count: number) {
  const seen = new Set<string>();
  const targets: { file: string; absPath: string; text: string; line: number; character: number; name: string }[] = [];
  for (const f of files) {
    if (!/\.(ts|js|py|go|rs|java|c|cpp|h)$/.test(f.path)) continue;
    f.text.split('\n').forEach((lineText, line) => {
      for (const m of lineText.matchAll(/\b(?:function|class|def|const|let|fn)\s+([A-Za-z_]\w{2,})/g)) {
        if (targets.length >= count || seen.has(m[1])) continue;
        seen.add(m[1]);
        targets.push({ file: f.path, absPath: f.absPath, text: f.text, line, character: m.index! + m[0].length - m[1].length, name: m[1] });
      }
    });
  }
  return targets;
}


export async function runHoverBench(o: HoverBenchOptions, emit: Emit): Promise<void> {
  const child = fork(o.serverJs, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const idle = new Promise<StatusParams>((resolve, reject) => {
    conn.onNotification(statusNotification.method, (s: StatusParams) => {
      if (s.state === 'idle' && s.filesDone === s.filesTotal) resolve(s);
      if (s.state === 'error') reject(new Error(`server error: ${JSON.stringify(s)}`));
    });
  });
  conn.listen();
  try {
    const rootUri = pathToFileURL(o.repo).toString();
    await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: path.basename(o.repo) }],
      capabilities: {},
      initializationOptions: { settings: { modelPath: o.modelDir, modelLabel: path.basename(o.modelDir), cacheDir: o.cacheDir, hover: { enabled: true, deadlineMs: o.deadlineMs } } },
    });
    await conn.sendNotification('initialized', {});
    const ingested = await idle;
    const { files } = await walkRepository(o.repo);
    const targets = hoverTargets(files, o.hovers);
    if (targets.length === 0) throw new Error(`${o.repo}: no identifiers to hover`);
    const times: number[] = [];
    let cut = 0;
    for (const t of targets) {
      const uri = pathToFileURL(t.absPath).toString();
      await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: 1, text: t.text } });
      const started = performance.now();
      const hover = await conn.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', { textDocument: { uri }, position: { line: t.line, character: t.character } });
      const ms = performance.now() - started;
      const truncated = !!hover && hover.contents.value.includes('Continue in chat');
      if (truncated) cut++;
      times.push(ms);
      emit({ bench: 'hover', file: t.file, symbol: t.name, ms, truncated });
      await conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
    }
    emit({ bench: 'hover', summary: true, model: path.basename(o.modelDir), hovers: times.length, p50Ms: median(times), p90Ms: percentile(times, 0.9), deadlineMs: o.deadlineMs, truncatedShare: cut / times.length, budget: ingested.budget, tokensKept: ingested.tokensKept });
  } finally {
    conn.dispose();
    child.kill();
  }
}

export function defaultServerJs(projectRoot: string): string {
  const js = path.join(projectRoot, 'dist', 'server.js');
  if (!fs.existsSync(js)) throw new Error(`${js} is missing: run "npm run build"`);
  return js;
}
