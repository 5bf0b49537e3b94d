// Bundles the extension (thin client), the language server and the CLI with esbuild.
// onnxruntime-node stays external: its native binaries ship in node_modules / the .vsix.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node', 'node-llama-cpp'],
};

const entries = [
  { in: 'extension/src/extension.ts', out: 'dist/extension.js' },
  { in: 'server/src/server.ts', out: 'dist/server.js' },
  { in: 'server/src/cli/main.ts', out: 'dist/cli.js' },
  // Each benchmarked engine runs in its own forked process (attributable peak RSS).
  { in: 'server/src/bench/engineBenchWorker.ts', out: 'dist/engineBenchWorker.js' },
];

// The chat webview's script: runs in the browser sandbox of a webview (markdown-it, DOMPurify, highlight.js inside).
if (existsSync('media/chat.js')) {
  await build({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    minify: true,
    sourcemap: false,
    logLevel: 'warning',
    entryPoints: ['media/chat.js'],
    outfile: 'dist/webview/chat.js',
  });
}

for (const e of entries) {
  if (!existsSync(e.in)) continue;
  await build({ ...common, entryPoints: [e.in], outfile: e.out });
}

