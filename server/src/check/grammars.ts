// Tree-sitter in Node, from local files only: the web-tree-sitter runtime and the prebuilt grammars of
// @vscode/tree-sitter-wasm (the ones VS Code ships). The runtime's .wasm is handed over as bytes, so nothing is
// fetched. In the bundle the .wasm files sit in dist/tree-sitter (tools/build.mjs copies them); from source they
// are read from node_modules. Each grammar loads once, on first use.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Language, Parser, type Tree } from 'web-tree-sitter';

/** Grammar file stems of @vscode/tree-sitter-wasm, by file extension. C and headers parse with the C++ grammar. */
const GRAMMAR_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ['.ts', 'typescript'], ['.mts', 'typescript'], ['.cts', 'typescript'],
  ['.tsx', 'tsx'],
  ['.js', 'javascript'], ['.mjs', 'javascript'], ['.cjs', 'javascript'], ['.jsx', 'javascript'],
  ['.py', 'python'], ['.pyi', 'python'],
  ['.go', 'go'],
  ['.rs', 'rust'],
  ['.java', 'java'],
  ['.cs', 'c-sharp'],
  ['.c', 'cpp'], ['.h', 'cpp'], ['.cc', 'cpp'], ['.cpp', 'cpp'], ['.cxx', 'cpp'], ['.hpp', 'cpp'], ['.hh', 'cpp'], ['.hxx', 'cpp'],
  ['.rb', 'ruby'],
  ['.php', 'php'],
  ['.sh', 'bash'], ['.bash', 'bash'],
]);

/** The grammar for a path, or undefined where none fits (the definition-pattern fallback takes over). */
export function grammarFor(file: string): string | undefined {
  if (file.endsWith('.d.ts')) return 'typescript';
  return GRAMMAR_BY_EXTENSION.get(path.extname(file).toLowerCase());
}

/** Folders that may hold the runtime's and the grammars' .wasm files, most specific first. */
function wasmDirs(): { runtime: string[]; grammars: string[] } {
  const runtime: string[] = [];
  const grammars: string[] = [];
  const env = process.env.REPOPOT_TREE_SITTER_DIR;
  if (env) {
    runtime.push(env);
    grammars.push(env);
  }
  // The bundle: dist/server.js and dist/cli.js, beside dist/tree-sitter/.
  const bundled = path.join(__dirname, 'tree-sitter');
  runtime.push(bundled);
  grammars.push(bundled);
  // From source: node_modules.
  try {
    runtime.push(path.dirname(require.resolve('web-tree-sitter/web-tree-sitter.wasm')));
  } catch {
    // not installed (the bundle)
  }
  try {
    grammars.push(path.join(path.dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm'));
  } catch {
    // not installed (the bundle)
  }
  return { runtime, grammars };
}

function findFile(dirs: readonly string[], name: string): string | undefined {
  for (const d of dirs) {
    const f = path.join(d, name);
    if (existsSync(f)) return f;
  }
  return undefined;
}

export class GrammarUnavailable extends Error {
  override readonly name = 'GrammarUnavailable';
}

let runtime: Promise<void> | undefined;
const languages = new Map<string, Promise<Language>>();

function initRuntime(): Promise<void> {
  runtime ??= (async () => {
    const file = findFile(wasmDirs().runtime, 'web-tree-sitter.wasm');
    if (!file) throw new GrammarUnavailable('web-tree-sitter.wasm was not found (dist/tree-sitter or node_modules)');
    const wasmBinary = await readFile(file);
    await Parser.init({ wasmBinary: new Uint8Array(wasmBinary.buffer, wasmBinary.byteOffset, wasmBinary.byteLength) });
  })();
  return runtime;
}

/** The named grammar, loaded once. Rejects with GrammarUnavailable when its file is missing. */
export function loadGrammar(name: string): Promise<Language> {
  let lang = languages.get(name);
  if (!lang) {
    lang = (async () => {
      await initRuntime();
      const file = findFile(wasmDirs().grammars, `tree-sitter-${name}.wasm`);
      if (!file) throw new GrammarUnavailable(`tree-sitter-${name}.wasm was not found`);
      return Language.load(new Uint8Array(await readFile(file)));
    })();
    languages.set(name, lang);
  }
  return lang;
}

/**
 * Parses `text` with the grammar for `file` and hands the tree to `use`; the tree and parser are freed after.
 * Returns undefined when no grammar fits or it cannot be loaded.
 */
export async function withTree<T>(file: string, text: string, use: (tree: Tree) => T): Promise<T | undefined> {
  const name = grammarFor(file);
  if (!name) return undefined;
  let language: Language;
  try {
    language = await loadGrammar(name);
  } catch (err) {
    if (err instanceof GrammarUnavailable) return undefined;
    throw err;
  }
  const parser = new Parser();
  try {
    parser.setLanguage(language);
    const tree = parser.parse(text);
    if (!tree) return undefined;
    try {
      return use(tree);
    } finally {
      tree.delete();
    }
  } finally {
    parser.delete();
  }
}
