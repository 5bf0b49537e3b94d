// Repository streamer: walking (gitignore, globs, every skip reason), ordering, chunking with provenance,
// cancellation and freshness diffs. Fixture repositories are built in a temp folder per test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { orderFiles } from '../server/src/distill/order';
import { outlineLines } from '../server/src/distill/outlineLines';
import { buildImportGraph } from '../server/src/distill/imports';
import { topologicalOrder } from '../server/src/distill/graph';
import { GlobSet, globToRegExp } from '../server/src/distill/glob';
import { diffRepository, manifestOf } from '../server/src/distill/manifest';
import { walkRepository, RepoWalkError } from '../server/src/distill/repoWalker';
import {
  fileHeader,
  headerForTokenizer,
  streamRepository,
  tokenizeWithProvenance,
  type StreamChunk,
  type StreamableFile,
} from '../server/src/distill/streamer';
import type { Tokenizer } from '../server/src/model/tokenizer';

const tempRoots: string[] = [];
after(() => {
  for (const dir of tempRoots) {
    try {
      fs.chmodSync(dir, 0o755);
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});

/** Creates a fixture repository: keys are relative paths, values file contents. */
function makeRepo(files: Record<string, string | Buffer> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-streamer-'));
  tempRoots.push(root);
  for (const [rel, content] of Object.entries(files)) write(root, rel, content);
  return root;
}

function write(root: string, rel: string, content: string | Buffer): void {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
}

function paths(files: readonly { path: string }[]): string[] {
  return files.map((f) => f.path);
}

/** UTF-8 bytes as tokens: encoding a concatenation equals concatenating encodings, which makes exact checks easy. */
class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 256;
  readonly eosTokenIds: readonly number[] = [];
  encode(text: string): number[] {
    return [...Buffer.from(text, 'utf8')];
  }
  decode(ids: readonly number[]): string {
    return Buffer.from(ids).toString('utf8');
  }
  tokenToId(): number | undefined {
    return undefined;
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('glob', () => {
  it('compiles **, *, ?, {a,b} and classes', () => {
    assert.ok(globToRegExp('src/**/*.ts').test('src/a.ts'));
    assert.ok(globToRegExp('src/**/*.ts').test('src/x/y/a.ts'));
    assert.ok(!globToRegExp('src/**/*.ts').test('lib/a.ts'));
    assert.ok(globToRegExp('*.{ts,js}').test('deep/dir/a.js'), 'slashless patterns match basenames anywhere');
    assert.ok(!globToRegExp('/*.ts').test('deep/a.ts'), 'a leading slash anchors to the root');
    assert.ok(globToRegExp('a?c.[tj]s').test('abc.ts'));
    assert.ok(!globToRegExp('a?c.[!tj]s').test('abc.ts'));
    assert.ok(globToRegExp('src/**').test('src'));
    assert.ok(globToRegExp('src/**').test('src/q/r.md'));
    assert.ok(!globToRegExp('src/*').test('src/q/r.md'));
    assert.ok(globToRegExp('{lib,src/{a,b}}/*.py').test('src/b/m.py'));
    assert.ok(new GlobSet(['node_modules']).matchesPathOrAncestor('x/node_modules/p/index.js'));
    assert.throws(() => globToRegExp('src/{a,b'), /glob "src\/\{a,b": unclosed/);
  });
});

describe('walkRepository', () => {
  it('honours root and nested .gitignore files, negations included', async () => {
    const root = makeRepo({
      '.gitignore': '*.log\nsecret/\n/build-local\n',
      'a.ts': 'export const a = 1;\n',
      'debug.log': 'noise',
      'secret/key.ts': 'x',
      'build-local': 'x',
      'pkg/.gitignore': 'local.ts\n!keep.log\n',
      'pkg/local.ts': 'x',
      'pkg/keep.log': 'kept by the nested negation\n',
      'pkg/other.log': 'x',
      'pkg/main.ts': 'export {};\n',
      'pkg/sub/local.ts': 'ignored at depth too',
    });
    const result = await walkRepository(root);
    assert.deepEqual(paths(result.files), ['.gitignore', 'a.ts', 'pkg/.gitignore', 'pkg/keep.log', 'pkg/main.ts']);
    assert.deepEqual(
      result.skipped.filter((s) => s.reason === 'ignored').map((s) => s.path).sort(),
      ['build-local', 'debug.log', 'pkg/local.ts', 'pkg/other.log', 'pkg/sub/local.ts', 'secret'],
    );
    assert.equal(result.skipCounts.ignored, 6);
    const unignored = await walkRepository(root, { respectGitignore: false });
    assert.ok(paths(unignored.files).includes('secret/key.ts'));
  });

  it('applies include and exclude globs', async () => {
    const root = makeRepo({
      'src/a.ts': 'a',
      'src/a.test.ts': 't',
      'src/deep/b.ts': 'b',
      'src/c.js': 'c',
      'docs/readme.md': 'd',
      'scripts/gen.ts': 'g',
    });
    const result = await walkRepository(root, { include: ['src/**/*.ts', 'docs'], exclude: ['**/*.test.ts', 'scripts'] });
    assert.deepEqual(paths(result.files), ['docs/readme.md', 'src/a.ts', 'src/deep/b.ts']);
    assert.equal(result.skipCounts.excluded, 2, 'src/a.test.ts and the scripts folder');
    assert.equal(result.skipCounts['not-included'], 1, 'src/c.js');
  });

  it('skips bad input with a counted reason and never throws', async (t) => {
    const root = makeRepo({
      'ok.ts': 'export const ok = true;\n',
      'nul.txt': Buffer.from([0x68, 0x69, 0x00, 0x01]),
      'logo.png': Buffer.from('not really a png'),
      'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
      'bad-seq.ts': Buffer.from([0x61, 0xc3, 0x28]),
      'app.min.js': 'x',
      'bundle.js': `var a=${'1+'.repeat(3000)}1;`,
      'api.pb.go': 'package api',
      'gen.go': '// Code generated by stringer; DO NOT EDIT.\n\npackage gen\n',
      'package-lock.json': '{}',
      'node_modules/lib/index.js': 'module.exports = 1;',
      'vendor/dep/dep.go': 'package dep',
      'dist/out.js': 'x',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.env': 'API_KEY=secret\n',
      'certs/server.pem': '-----BEGIN PRIVATE KEY-----\n',
      'locked.ts': 'secret',
      'sub/real.ts': 'export const real = 1;\n',
    });
    // A 20 MB file: sparse, so cheap to create; it must be rejected by size without being read.
    fs.writeFileSync(path.join(root, 'huge.ts'), '');
    fs.truncateSync(path.join(root, 'huge.ts'), 20 * 1024 * 1024);
    fs.symlinkSync('.', path.join(root, 'loop-self'));
    fs.symlinkSync('..', path.join(root, 'sub', 'up'));
    fs.symlinkSync('chain-b', path.join(root, 'chain-a'));
    fs.symlinkSync('chain-a', path.join(root, 'chain-b'));
    fs.symlinkSync('missing-target', path.join(root, 'dangling'));
    fs.symlinkSync('sub/real.ts', path.join(root, 'alias.ts'));
    fs.symlinkSync(os.tmpdir(), path.join(root, 'outside'));
    fs.chmodSync(path.join(root, 'locked.ts'), 0o000);
    let fifo = false;
    try {
      execFileSync('mkfifo', [path.join(root, 'pipe')]);
      fifo = true;
    } catch {
      t.diagnostic('mkfifo unavailable: not-a-file (FIFO) not checked');
    }

    const result = await walkRepository(root);
    const reasonOf = (p: string): string | undefined => result.skipped.find((s) => s.path === p)?.reason;
    assert.equal(reasonOf('nul.txt'), 'binary');
    assert.equal(reasonOf('logo.png'), 'binary');
    assert.equal(reasonOf('huge.ts'), 'too-large');
    assert.match(result.skipped.find((s) => s.path === 'huge.ts')!.detail!, /20971520 bytes/);
    assert.equal(reasonOf('latin1.txt'), 'invalid-utf8');
    assert.equal(reasonOf('bad-seq.ts'), 'invalid-utf8');
    assert.equal(reasonOf('app.min.js'), 'minified');
    assert.equal(reasonOf('bundle.js'), 'minified');
    assert.equal(reasonOf('api.pb.go'), 'generated');
    assert.equal(reasonOf('gen.go'), 'generated');
    assert.equal(reasonOf('package-lock.json'), 'generated');
    assert.equal(reasonOf('dist'), 'generated');
    assert.equal(reasonOf('node_modules'), 'vendored');
    assert.equal(reasonOf('vendor'), 'vendored');
    assert.equal(reasonOf('.git'), 'excluded');
    assert.equal(reasonOf('.env'), 'excluded');
    assert.equal(reasonOf('certs/server.pem'), 'excluded');
    assert.equal(reasonOf('loop-self'), 'symlink-loop');
    assert.equal(reasonOf('sub/up'), 'symlink-loop');
    assert.equal(reasonOf('chain-a'), 'symlink-loop');
    assert.equal(reasonOf('chain-b'), 'symlink-loop');
    assert.equal(reasonOf('dangling'), 'broken-symlink');
    assert.equal(reasonOf('alias.ts'), 'duplicate');
    assert.equal(reasonOf('outside'), 'outside-root');
    if (fifo) assert.equal(reasonOf('pipe'), 'not-a-file');
    if (isRoot) {
      t.diagnostic('running as root: chmod 000 files stay readable, so the unreadable assertion is skipped');
      assert.ok(paths(result.files).includes('locked.ts'));
    } else {
      assert.equal(reasonOf('locked.ts'), 'unreadable');
      assert.match(result.skipped.find((s) => s.path === 'locked.ts')!.detail!, /EACCES/);
    }
    assert.deepEqual(paths(result.files), isRoot ? ['locked.ts', 'ok.ts', 'sub/real.ts'] : ['ok.ts', 'sub/real.ts']);
    // Counts agree with the list, every reason present.
    for (const [reason, count] of Object.entries(result.skipCounts)) {
      assert.equal(count, result.skipped.filter((s) => s.reason === reason).length, reason);
    }
    assert.equal(result.skipCounts['symlink-loop'], 4);
    assert.equal(result.skipCounts.binary, 2);
  });

  it('returns file metadata: bytes, mtime, sha256, text without BOM', async () => {
    const root = makeRepo({ 'bom.ts': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('const é = 1;\n')]) });
    const [file] = (await walkRepository(root)).files;
    assert.equal(file!.text, 'const é = 1;\n');
    assert.equal(file!.bytes, 17);
    assert.equal(file!.absPath, path.join(root, 'bom.ts'));
    assert.match(file!.sha256, /^[0-9a-f]{64}$/);
    assert.ok(file!.mtimeMs > 0);
  });

  it('handles an empty repository', async () => {
    const root = makeRepo();
    const result = await walkRepository(root);
    assert.deepEqual(result.files, []);
    assert.deepEqual(result.skipped, []);
    assert.ok(Object.values(result.skipCounts).every((n) => n === 0));
    const chunks: StreamChunk[] = [];
    for await (const c of streamRepository(result.files, new ByteTokenizer())) chunks.push(c);
    assert.deepEqual(chunks, []);
  });

  it('names the folder when the root itself is missing', async () => {
    const missing = path.join(os.tmpdir(), 'repopot-no-such-repo-xyz');
    await assert.rejects(walkRepository(missing), (err: unknown) => {
      assert.ok(err instanceof RepoWalkError);
      assert.match(err.message, /repopot-no-such-repo-xyz: cannot open the repository folder/);
      return true;
    });
  });

  it('cancels with the signal', async () => {
    const root = makeRepo({ 'a.ts': 'a' });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(walkRepository(root, { signal: controller.signal }), { name: 'AbortError' });
  });
});

describe('orderFiles', () => {
  const at = (p: string, text: string, mtimeMs = 1000): { path: string; text: string; mtimeMs: number } => ({
    path: p,
    text,
    mtimeMs,
  });

  it('puts README and entry points first, definitions before the files importing them', () => {
    const files = [
      at('src/a_feature.ts', "import { util } from './z_util.js';\nexport const f = util;\n"),
      at('src/z_util.ts', 'export const util = 1;\n'),
      at('src/index.ts', "export * from './a_feature';\n"),
      at('README.md', '# Demo\n'),
      at('package.json', '{"main": "bin/cli.js"}'),
      at('bin/cli.js', "require('../src/index');\n"),
      at('lib/b.js', "const x = require('./c');\n"),
      at('lib/c.js', 'module.exports = 1;\n'),
    ];
    const order = paths(orderFiles(files));
    assert.deepEqual(order.slice(0, 3), ['README.md', 'bin/cli.js', 'src/index.ts']);
    assert.ok(order.indexOf('src/z_util.ts') < order.indexOf('src/a_feature.ts'));
    assert.ok(order.indexOf('lib/c.js') < order.indexOf('lib/b.js'));
    assert.equal(order.length, files.length);
  });

  it('follows Python, Go, Rust and C imports', () => {
    const graph = buildImportGraph([
      at('pkg/__init__.py', ''),
      at('pkg/a.py', 'from .z import helper\nfrom . import y\nimport pkg.w as w\n'),
      at('pkg/z.py', 'def helper(): pass\n'),
      at('pkg/y.py', ''),
      at('pkg/w.py', ''),
      at('go.mod', 'module example.com/app\n\ngo 1.22\n'),
      at('cmd/main.go', 'package main\n\nimport (\n\t"fmt"\n\t"example.com/app/internal/store"\n)\n'),
      at('internal/store/store.go', 'package store\n'),
      at('internal/store/store_test.go', 'package store\n'),
      at('src/lib.rs', 'mod parser;\npub mod util;\nuse crate::util::helpers::thing;\n'),
      at('src/parser.rs', 'use super::util;\n'),
      at('src/util/mod.rs', 'pub mod helpers;\n'),
      at('src/util/helpers.rs', ''),
      at('c/main.c', '#include "lib.h"\n#include <stdio.h>\n'),
      at('c/lib.h', ''),
    ]);
    assert.deepEqual(graph.get('pkg/a.py'), ['pkg/__init__.py', 'pkg/w.py', 'pkg/y.py', 'pkg/z.py']);
    assert.deepEqual(graph.get('cmd/main.go'), ['internal/store/store.go']);
    assert.deepEqual(graph.get('src/lib.rs'), ['src/parser.rs', 'src/util/helpers.rs', 'src/util/mod.rs']);
    assert.deepEqual(graph.get('src/parser.rs'), ['src/util/mod.rs']);
    assert.deepEqual(graph.get('src/util/mod.rs'), ['src/util/helpers.rs']);
    assert.deepEqual(graph.get('c/main.c'), ['c/lib.h']);
  });

  it('breaks import cycles stably', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['b']],
      ['d', []],
    ]);
    const once = topologicalOrder(['a', 'b', 'c', 'd'], graph);
    assert.deepEqual(once, ['b', 'c', 'a', 'd']);
    assert.deepEqual(topologicalOrder(['a', 'b', 'c', 'd'], graph), once);
  });

  it('moves the most recently modified files last, and supports path and mtime orders', () => {
    const minute = 60_000;
    const files = [at('a.ts', '', 100 * minute), at('b.ts', '', 300 * minute), at('c.ts', '', 100 * minute), at('d.ts', '', 200 * minute), at('e.ts', '', 100 * minute), at('f.ts', '', 100 * minute)];
    assert.deepEqual(paths(orderFiles(files)), ['a.ts', 'c.ts', 'e.ts', 'f.ts', 'd.ts', 'b.ts']);
    assert.deepEqual(paths(orderFiles(files, { recentTail: 1 })), ['a.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts', 'b.ts']);
    assert.deepEqual(paths(orderFiles(files, { recentTail: 0 })), ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts']);
    assert.deepEqual(paths(orderFiles(files, { order: 'mtime' })), ['a.ts', 'c.ts', 'e.ts', 'f.ts', 'd.ts', 'b.ts']);
    assert.deepEqual(paths(orderFiles([...files].reverse(), { order: 'path' })), ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts']);
    // A fresh checkout (same times everywhere) keeps pure import order.
    const same = files.map((f) => ({ ...f, mtimeMs: 5 }));
    assert.deepEqual(paths(orderFiles(same)), ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts']);
    // So does an unpacked package, whose files were written milliseconds apart (the last ones are not "edited").
    const unpacked = files.map((f, i) => ({ ...f, mtimeMs: 1_000_000 + 120 * i }));
    assert.deepEqual(paths(orderFiles(unpacked)), ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts']);
  });

  it('orders a walked repository using real mtimes', async () => {
    const root = makeRepo({
      'README.md': '# r\n',
      'src/user.ts': "import { def } from './def';\n",
      'src/def.ts': 'export const def = 1;\n',
      'src/old1.ts': '',
      'src/old2.ts': '',
    });
    const old = new Date('2020-01-01T00:00:00Z');
    for (const p of ['README.md', 'src/user.ts', 'src/def.ts', 'src/old1.ts']) fs.utimesSync(path.join(root, p), old, old);
    const order = paths(orderFiles((await walkRepository(root)).files));
    assert.deepEqual(order, ['README.md', 'src/def.ts', 'src/old1.ts', 'src/user.ts', 'src/old2.ts']);
  });
});

/** Expected (file, line) text for every piece: header at line 0, then each line with its newline. */
function expectedPieces(files: readonly StreamableFile[], header: (p: string) => string): Map<string, string> {
  const pieces = new Map<string, string>();
  for (const f of files) {
    pieces.set(`${f.path}:0`, header(f.path));
    const lines = f.text.split(/(?<=\n)/);
    lines.forEach((l, i) => l !== '' && pieces.set(`${f.path}:${i + 1}`, l));
  }
  return pieces;
}

async function collect(files: readonly StreamableFile[], tokenizer: Tokenizer, chunkTokens: number): Promise<StreamChunk[]> {
  const chunks: StreamChunk[] = [];
  for await (const chunk of streamRepository(files, tokenizer, { chunkTokens })) chunks.push(chunk);
  return chunks;
}

function checkChunks(files: readonly StreamableFile[], tokenizer: Tokenizer, chunks: StreamChunk[], chunkTokens: number): void {
  const header = headerForTokenizer(tokenizer);
  chunks.forEach((c, i) => {
    assert.equal(c.tokens.length, c.provenance.length);
    if (i < chunks.length - 1) assert.equal(c.tokens.length, chunkTokens, `chunk ${i} is full`);
    else assert.ok(c.tokens.length > 0 && c.tokens.length <= chunkTokens);
    assert.equal(c.provenance[0]!.file, files[c.fileIndex]!.path);
    assert.equal(c.provenance.at(-1)!.file, files[c.lastFileIndex]!.path);
    assert.equal(c.filesTotal, files.length);
  });
  assert.equal(chunks.at(-1)!.filesDone, files.length);
  const all = chunks.flatMap((c) => c.tokens);
  const provenance = chunks.flatMap((c) => c.provenance);
  assert.equal(chunks.at(-1)!.tokensDone, all.length);
  // Whole-stream round trip.
  assert.equal(tokenizer.decode(all, { skipSpecial: false }), files.map((f) => header(f.path) + f.text).join(''));
  // Per (file, line) the tokens decode to exactly that line.
  const byPiece = new Map<string, number[]>();
  provenance.forEach((src, i) => {
    const key = `${src.file}:${src.line}`;
    if (!byPiece.has(key)) byPiece.set(key, []);
    byPiece.get(key)!.push(all[i]!);
  });
  const expected = expectedPieces(files, header);
  assert.deepEqual([...byPiece.keys()].sort(), [...expected.keys()].sort());
  for (const [key, ids] of byPiece) assert.equal(tokenizer.decode(ids, { skipSpecial: false }), expected.get(key), key);
}

describe('streamRepository', () => {
  const files: StreamableFile[] = [
    { path: 'README.md', text: '# Title\n\nSome words.\n' },
    { path: 'src/a.ts', text: 'export const a = 1;\nexport const b = "é";' },
    { path: 'empty.ts', text: '' },
    { path: 'src/crlf.ts', text: 'line1\r\nline2\r\n' },
  ];
  const tokenizer = new ByteTokenizer();

  it('chunks at most chunkTokens, concatenation equals header + file tokens, lines are right', async () => {
    for (const chunkTokens of [1, 7, 16, 512]) {
      const chunks = await collect(files, tokenizer, chunkTokens);
      checkChunks(files, tokenizer, chunks, chunkTokens);
      const expectedTokens = files.flatMap((f) => tokenizer.encode(fileHeader(f.path) + f.text));
      assert.deepEqual(chunks.flatMap((c) => c.tokens), expectedTokens);
    }
    const one = tokenizeWithProvenance(files[1]!, tokenizer);
    const firstCodeToken = fileHeader('src/a.ts').length;
    assert.deepEqual(one.provenance[0], { file: 'src/a.ts', line: 0 });
    assert.deepEqual(one.provenance[firstCodeToken], { file: 'src/a.ts', line: 1 });
    assert.deepEqual(one.provenance.at(-1), { file: 'src/a.ts', line: 2 });
  });

  it('reports a file done in the chunk holding its last token', async () => {
    const exact = [{ path: 'x', text: 'abc' }, { path: 'y', text: 'de' }];
    const headerLen = fileHeader('x').length;
    const chunks = await collect(exact, tokenizer, headerLen + 3);
    assert.equal(chunks[0]!.filesDone, 1);
    assert.equal(chunks[0]!.lastFileIndex, 0);
    assert.equal(chunks[1]!.fileIndex, 1);
    assert.equal(chunks[1]!.filesDone, 2);
  });

  it('tags the lines that define or import a name as outline (outlineLines), and no others', async () => {
    const src: StreamableFile = { path: 'src/m.ts', text: "import { x } from './x';\n\nexport function area(w: number) {\n  return w * 2;\n}\nconst LIMIT = 3;\n" };
    const lines = await outlineLines(src);
    assert.deepEqual([...lines].sort((a, b) => a - b), [1, 3, 6]);
    const chunks: StreamChunk[] = [];
    for await (const c of streamRepository([src], tokenizer, { outlineLines })) chunks.push(c);
    const tagged = new Set(chunks.flatMap((c) => c.provenance).filter((p) => p.outline).map((p) => p.line));
    assert.deepEqual([...tagged].sort((a, b) => a - b), [1, 3, 6]);
    const plain: StreamChunk[] = [];
    for await (const c of streamRepository([src], tokenizer)) plain.push(c);
    assert.ok(plain.flatMap((c) => c.provenance).every((p) => p.outline === undefined), 'untagged without outlineLines');
  });

  it('uses the header the caller or the tokenizer defines', async () => {
    const withFileToken: Tokenizer = { ...tokenizer, encode: tokenizer.encode, decode: tokenizer.decode, vocabSize: 257, eosTokenIds: [], tokenToId: (t) => (t === '<|file|>' ? 256 : undefined) };
    assert.equal(headerForTokenizer(withFileToken)('a/b.ts'), '<|file|> a/b.ts\n');
    const custom = (p: string): string => `### ${p}\n`;
    const chunks: StreamChunk[] = [];
    for await (const c of streamRepository([{ path: 'q.py', text: 'x\n' }], tokenizer, { header: custom })) chunks.push(c);
    assert.equal(tokenizer.decode(chunks[0]!.tokens), '### q.py\nx\n');
  });

  it('stops promptly when cancelled, between chunks and inside a long file', async () => {
    const big: StreamableFile[] = [{ path: 'big.ts', text: 'const value = 12345;\n'.repeat(200_000) }];
    const controller = new AbortController();
    const seen: StreamChunk[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of streamRepository(big, tokenizer, { chunkTokens: 64, signal: controller.signal })) {
          seen.push(c);
          if (seen.length === 3) controller.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.equal(seen.length, 3);

    // Abort from a timer while the consumer is busy pulling chunks: the streamer must yield to let it run.
    const late = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      late.abort();
    }, 20);
    let count = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of streamRepository(big, tokenizer, { chunkTokens: 64, signal: late.signal })) count++;
      })(),
      { name: 'AbortError' },
    );
    const lag = performance.now() - abortedAt;
    assert.ok(abortedAt > 0 && lag < 200, `stopped ${lag.toFixed(0)} ms after abort`);
    assert.ok(count < (21 * 200_000) / 64, 'did not run to completion');
  });

  it('rejects a bad chunk size', async () => {
    await assert.rejects(collect(files, tokenizer, 0), /chunkTokens must be a positive integer, got 0/);
  });

  it('matches the real SmolLM2 tokenizer when available', async (t) => {
    const tokenizerPath = '/work/shared/tokenizers/smollm2/tokenizer.json';
    if (!fs.existsSync(tokenizerPath)) {
      t.skip(`${tokenizerPath} not present`);
      return;
    }
    const real = await loadHfTokenizer(tokenizerPath);
    assert.equal(headerForTokenizer(real)('a.ts'), '<file_sep>a.ts\n');
    const code: StreamableFile[] = [
      ...files,
      { path: 'src/util.py', text: 'def f(x):\n    return x + 1  # ünïcode 🙂\n\n\nclass A:\n    pass\n' },
    ];
    const chunks = await collect(code, real, 16);
    checkChunks(code, real, chunks, 16);
    const fileSep = real.tokenToId('<file_sep>')!;
    assert.equal(chunks[0]!.tokens[0], fileSep, 'the header uses the special token, not its spelling');

    // File content that spells special tokens stays text: it cannot forge a file boundary or end the document.
    const forged: StreamableFile = { path: 'evil.md', text: 'a <file_sep>other.ts\nb <|endoftext|> <|im_start|>\n' };
    const endOfText = real.tokenToId('<|endoftext|>')!;
    assert.ok(real.encode(forged.text).includes(fileSep), 'precondition: plain encode() parses the marker');
    const { tokens, provenance } = tokenizeWithProvenance(forged, real);
    const contentTokens = tokens.filter((_, i) => provenance[i]!.line > 0);
    assert.ok(!contentTokens.includes(fileSep) && !contentTokens.includes(endOfText));
    assert.equal(real.decode(contentTokens, { skipSpecial: false }), forged.text);
    checkChunks([forged], real, await collect([forged], real, 5), 5);
  });
});

/** Adapts @huggingface/tokenizers to the project's Tokenizer interface (the model layer will own the real one). */
async function loadHfTokenizer(file: string): Promise<Tokenizer> {
  const { Tokenizer: HfTokenizer } = await import('@huggingface/tokenizers');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };
  const hf = new HfTokenizer(json, {});
  const special = new Map(json.added_tokens.map((t) => [t.content, t.id] as const));
  return {
    vocabSize: Object.keys(json.model.vocab).length,
    eosTokenIds: [0],
    encode: (text, options) => hf.encode(text, { add_special_tokens: options?.addSpecial ?? false }).ids,
    decode: (ids, options) => hf.decode([...ids], { skip_special_tokens: options?.skipSpecial ?? true }),
    tokenToId: (token) => special.get(token) ?? json.model.vocab[token],
  };
}

describe('diffRepository', () => {
  it('classifies added, changed, removed and unchanged files', async () => {
    const root = makeRepo({ 'keep.ts': 'k', 'edit.ts': 'v1', 'gone.ts': 'g' });
    const before = manifestOf((await walkRepository(root)).files);
    write(root, 'edit.ts', 'v2');
    write(root, 'new.ts', 'n');
    fs.rmSync(path.join(root, 'gone.ts'));
    const diff = diffRepository(before, (await walkRepository(root)).files);
    assert.deepEqual(paths(diff.added), ['new.ts']);
    assert.deepEqual(paths(diff.changed), ['edit.ts']);
    assert.deepEqual(diff.removed, ['gone.ts']);
    assert.deepEqual(paths(diff.unchanged), ['keep.ts']);
    // Re-stream only what changed.
    const chunks = await collect([...diff.added, ...diff.changed], new ByteTokenizer(), 512);
    assert.equal(new ByteTokenizer().decode(chunks.flatMap((c) => c.tokens)), `${fileHeader('new.ts')}n${fileHeader('edit.ts')}v2`);
  });
});
