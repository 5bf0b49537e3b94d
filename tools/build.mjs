// Bundles the extension (thin client), the language server and the CLI with esbuild.
// onnxruntime-node stays external: its native binaries ship in node_modules / the .vsix.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node', 'node-llama-cpp'],
  plugins: [
    {
      // web-tree-sitter's ESM build needs import.meta.url, which a CommonJS bundle lacks: bundle its CommonJS build.
      name: 'web-tree-sitter-cjs',
      setup(b) {
        b.onResolve({ filter: /^web-tree-sitter$/ }, () => ({ path: require.resolve('web-tree-sitter') }));
      },
    },
  ],
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


// Answer checks parse with tree-sitter (server/src/check/grammars.ts): the web-tree-sitter runtime's .wasm and
// VS Code's prebuilt grammars go beside the bundles, in dist/tree-sitter, so the server and the CLI load them
// from disk (never fetched) without node_modules.
const treeSitterOut = 'dist/tree-sitter';
mkdirSync(treeSitterOut, { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), path.join(treeSitterOut, 'web-tree-sitter.wasm'));
const grammarDir = path.join(path.dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm');
// Grammars the checks use (grammars.ts GRAMMAR_BY_EXTENSION); css, ini, regex and powershell are left out.
const GRAMMARS = ['typescript', 'tsx', 'javascript', 'python', 'go', 'rust', 'java', 'c-sharp', 'cpp', 'ruby', 'php', 'bash'];
for (const g of GRAMMARS) {
  const file = `tree-sitter-${g}.wasm`;
  if (!readdirSync(grammarDir).includes(file)) throw new Error(`build: ${file} is missing from @vscode/tree-sitter-wasm`);
  copyFileSync(path.join(grammarDir, file), path.join(treeSitterOut, file));
}
