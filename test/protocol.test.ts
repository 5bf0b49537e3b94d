// Protocol tests: spawn the bundled language server (dist/server.js, from `npm run build`) over IPC, as the
// extension does, and speak JSON-RPC to it.
// Model: REPOPOT_TEST_MODEL, else RepoPot's own model (models/repopot-tiny-code), else ../shared/models/stories260K (a real tiny llama2.c model; it knows stories,
// not code, so answers are checked for shape, not sense). Skipped with a message when neither exists.
import { fork, type ChildProcess } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ProgressType,
  ResponseError,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import {
  askRequest,
  continueInChatCommand,
  ingestReportRequest,
  pauseRequest,
  questionFormsRequest,
  rebuildRequest,
  resumeRequest,
  statusNotification,
  statusRequest,
  type AskProgress,
  type AskResult,
  type IngestReport,
  type RequestSpec,
  type ServerSettings,
  type StatusParams,
} from '../server/src/lsp/protocol';

const repoRoot = path.resolve(import.meta.dirname, '..');
const serverJs = path.join(repoRoot, 'dist', 'server.js');
const fixture = path.join(repoRoot, 'test', 'fixtures', 'repo');
const modelDir = process.env.REPOPOT_TEST_MODEL ?? (existsSync(path.join(repoRoot, 'models', 'repopot-tiny-code', 'model.safetensors')) ? path.join(repoRoot, 'models', 'repopot-tiny-code') : path.resolve(repoRoot, '..', 'shared', 'models', 'stories260K'));
const skip = !existsSync(modelDir)
  ? `no test model at ${modelDir} (set REPOPOT_TEST_MODEL or provide ../shared)`
  : !existsSync(serverJs)
    ? `${serverJs} is missing: run "npm run build" first`
    : false;
if (skip) console.log(`# protocol tests skipped: ${skip}`);

const askProgress = new ProgressType<AskProgress>();

/** A spawned server plus a JSON-RPC connection to it, with its status notifications recorded. */
class ServerUnderTest {
  readonly statuses: StatusParams[] = [];
  readonly logs: string[] = [];
  private readonly waiters: { pred: (s: StatusParams) => boolean; resolve: (s: StatusParams) => void }[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly conn: MessageConnection,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    conn.onNotification(statusNotification.method, (s: StatusParams) => {
      this.statuses.push(s);
      for (const w of [...this.waiters]) {
        if (w.pred(s)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(s);
        }
      }
    });
    conn.onNotification('window/logMessage', (m: { message: string }) => {
      this.logs.push(m.message);
    });
    conn.listen();
  }

  static async start(root: string, settings: Partial<ServerSettings>): Promise<ServerUnderTest> {
    const child = fork(serverJs, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    const s = new ServerUnderTest(child, conn);
    const rootUri = pathToFileURL(root).toString();
    await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: path.basename(root) }],
      capabilities: {},
      initializationOptions: { settings: { modelPath: modelDir, modelLabel: path.basename(modelDir), ...settings } },
    });
    await conn.sendNotification('initialized', {});
    return s;
  }

  /** Resolves with the first status (already received or future) that satisfies `pred`. */
  waitForStatus(pred: (s: StatusParams) => boolean, sinceSeq = 0): Promise<StatusParams> {
    const seen = this.statuses.find((s) => s.seq > sinceSeq && pred(s));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred: (s) => s.seq > sinceSeq && pred(s), resolve }));
  }

  /** Waits until ingestion has finished (idle, every file done). */
  idle(sinceSeq = 0): Promise<StatusParams> {
    return this.waitForStatus((s) => s.state === 'idle' && s.filesDone === s.filesTotal, sinceSeq);
  }

  request<P, R>(spec: RequestSpec<P, R>, params?: P, token?: CancellationTokenSource): Promise<R> {
    return params === undefined
      ? this.conn.sendRequest<R>(spec.method, token?.token)
      : this.conn.sendRequest<R>(spec.method, params, token?.token);
  }

  /** Asks and records the streamed progress values in order. */
  async ask(question: string, cancelAfterTokens?: number): Promise<{ result?: AskResult; error?: ResponseError<unknown>; progress: AskProgress[] }> {
    const progressToken = `ask-${Math.random().toString(36).slice(2)}`;
    const progress: AskProgress[] = [];
    const cts = new CancellationTokenSource();
    const sub = this.conn.onProgress(askProgress, progressToken, (v: AskProgress) => {
      progress.push(v);
      if (cancelAfterTokens !== undefined && progress.filter((p) => p.kind === 'token').length === cancelAfterTokens) cts.cancel();
    });
    try {
      const result = await this.request(askRequest, { question, partialResultToken: progressToken }, cts);
      return { result, progress };
    } catch (err) {
      if (err instanceof ResponseError) return { error: err, progress };
      throw err;
    } finally {
      sub.dispose();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.conn.sendRequest('shutdown');
    await this.conn.sendNotification('exit');
    await this.exited;
    this.conn.dispose();
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
    this.conn.dispose();
  }
}

/** Copies the fixture and adds the files that must be skipped, each with an expected reason. */
async function makeWorkspace(): Promise<{ root: string; expectSkipped: Record<string, RegExp> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'repopot-ws-'));
  await fs.cp(fixture, root, { recursive: true });
  await fs.mkdir(path.join(root, 'ignored'));
  await fs.writeFile(path.join(root, 'ignored', 'secret.txt'), 'ignored by .gitignore\n');
  await fs.writeFile(path.join(root, 'debug.log'), 'ignored by .gitignore\n');
  await fs.writeFile(path.join(root, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
  await fs.writeFile(path.join(root, 'huge.txt'), Buffer.alloc(20 * 1024 * 1024, 0x61));
  await fs.writeFile(path.join(root, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe]));
  await fs.writeFile(path.join(root, 'locked.txt'), 'secret\n');
  await fs.chmod(path.join(root, 'locked.txt'), 0o000);
  await fs.symlink('.', path.join(root, 'loop'));
  await fs.symlink('self-link', path.join(root, 'self-link'));
  await fs.symlink('missing-target', path.join(root, 'dangling'));
  const expectSkipped: Record<string, RegExp> = {
    'logo.png': /^binary/,
    'huge.txt': /^too-large/,
    'latin1.txt': /^invalid-utf8/,
    loop: /^symlink-loop/,
    'self-link': /^symlink-loop/,
    dangling: /^broken-symlink/,
    ignored: /^ignored/,
    'debug.log': /^ignored/,
  };
  // root reads any file regardless of its mode, so "unreadable" can only be checked as another user.
  if (process.getuid?.() !== 0) expectSkipped['locked.txt'] = /unreadable/;
  return { root, expectSkipped };
}

describe('language server protocol', { skip }, () => {
  const tmpDirs: string[] = [];
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let cacheDir: string;
  let server: ServerUnderTest;

  before(async () => {
    ws = await makeWorkspace();
    cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'repopot-cache-'));
    tmpDirs.push(ws.root, cacheDir);
    server = await ServerUnderTest.start(ws.root, { cacheDir, maxAnswerTokens: 48, hover: { enabled: true, deadlineMs: 2000 } });
  });

  after(async () => {
    await server?.stop().catch(() => server.kill());
    for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('ingests the fixture repository and skips bad inputs with reasons', async () => {
    const done = await server.idle();
    const report = await server.request(ingestReportRequest);
    assert.deepEqual(report.ingested.filter((f) => f !== '.gitignore' && f !== 'locked.txt'), ['README.md', 'src/cart.ts', 'src/pricing.py']);
    for (const [file, reason] of Object.entries(ws.expectSkipped)) {
      const s = report.skipped.find((k) => k.path === file);
      assert.ok(s, `${file} should be skipped; skipped: ${JSON.stringify(report.skipped)}`);
      assert.match(s.reason, reason, `${file}: ${s.reason}`);
    }
    assert.equal(done.filesSkipped, report.skipped.length);
    assert.ok(done.tokensSeen > 0 && done.tokensKept > 0 && done.tokensKept <= done.tokensSeen);
    assert.ok(done.cacheBytes > 0 && done.compression >= 1);
    assert.equal(done.model, path.basename(modelDir));
  });

  it('sends status notifications in order: starting, ingesting, idle', async () => {
    await server.idle();
    const seqs = server.statuses.map((s) => s.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seq increases by one with no gaps');
    const states = server.statuses.map((s) => s.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
    assert.deepEqual(states.slice(0, 3), ['starting', 'ingesting', 'idle']);
    const ingesting = server.statuses.filter((s) => s.state === 'ingesting');
    for (let i = 1; i < ingesting.length; i++) assert.ok(ingesting[i].filesDone >= ingesting[i - 1].filesDone, 'filesDone never goes back');
  });

  it('streams answer tokens, then sources, then returns the answer', async () => {
    await server.idle();
    const before = server.statuses.length;
    const { result, error, progress } = await server.ask('What does checkout do?');
    assert.equal(error, undefined);
    assert.ok(result);
    const tokens = progress.filter((p) => p.kind === 'token');
    assert.ok(tokens.length > 1, 'several token progress notifications');
    assert.equal(tokens.map((t) => t.text).join(''), result.text, 'streamed text adds up to the answer');
    assert.equal(progress[progress.length - 1].kind, 'sources', 'sources come last');
    assert.equal(progress.filter((p) => p.kind === 'sources').length, 1);
    assert.ok(result.sources.length > 0);
    for (const s of result.sources) assert.ok(s.uri.startsWith(pathToFileURL(ws.root).toString()), s.uri);
    assert.ok(result.tokens > 0 && result.tokensPerSecond > 0);
    // A free-form question: labelled, not checked; the built-in model (trained for lookups) adds a note.
    assert.deepEqual([result.check.status, result.check.kind], ['unverifiable', 'free']);
    const { trainedForLookups } = await server.request(questionFormsRequest, { limit: 0 });
    assert.equal(result.note !== undefined, trainedForLookups, `note: ${result.note}`);
    if (result.note) assert.match(result.note, /Choose Model/);
    const during = server.statuses.slice(before).map((s) => s.state);
    assert.ok(during.includes('answering'), `answering announced: ${during.join(',')}`);
    await server.waitForStatus((s) => s.state === 'idle', server.statuses[before]?.seq ?? 0);
  });

  it('cancels mid-answer ($/cancelRequest) and keeps serving', async () => {
    await server.idle();
    const cancelled = await server.ask('Tell me everything about the cart.', 3);
    assert.ok(cancelled.error, 'the request ends with an error');
    assert.equal(cancelled.error.code, -32800, 'RequestCancelled');
    const tokens = cancelled.progress.filter((p) => p.kind === 'token').length;
    assert.ok(tokens >= 3 && tokens < 48, `stopped early after ${tokens} tokens`);
    const next = await server.ask('What is a cart?');
    assert.ok(next.result && next.result.text.length > 0, 'the next request is answered');
  });

  it('checks lookup answers against the repository; offers the question forms with workspace symbols', async () => {
    await server.idle();
    const { result } = await server.ask('Where is `checkout` defined?');
    assert.ok(result);
    assert.equal(result.check.kind, 'where');
    assert.ok(result.check.status === 'checked' || result.check.status === 'not-found', JSON.stringify(result.check));
    if (result.check.status === 'checked') {
      assert.deepEqual([result.check.file, result.check.line], ['src/cart.ts', 20]);
      assert.deepEqual([result.sources[0].path, result.sources[0].range.start.line], ['src/cart.ts', 19], 'the confirming line leads the sources');
    } else {
      assert.equal(result.check.file, undefined);
    }
    assert.equal(result.note, undefined, 'a lookup gets no note');
    for (const s of result.sources) assert.ok(s.range.end.line - s.range.start.line <= 6, `tight range ${s.path}:${s.range.start.line}-${s.range.end.line}`);

    const forms = await server.request(questionFormsRequest, { prefix: 'check' });
    assert.deepEqual(forms.forms.map((f) => f.kind), ['where', 'value', 'params', 'importers', 'multihop']);
    assert.ok(forms.symbols.some((s) => s.name === 'checkout' && s.path === 'src/cart.ts' && s.line === 20 && s.kind === 'function'), JSON.stringify(forms.symbols));
    assert.ok(forms.symbols.every((s) => s.name.toLowerCase().startsWith('check')));
  });

  it('rejects bad requests without dying', async () => {
    await assert.rejects(server.request(askRequest, { question: '' }), /non-empty question/);
    await assert.rejects(server.conn.sendRequest('repopot/noSuchMethod', {}), /Unhandled method/);
    const status = await server.request(statusRequest);
    assert.notEqual(status.state, 'error');
  });

  it('explains a hovered symbol within the deadline, cached per document version', async () => {
    await server.idle();
    const uri = pathToFileURL(path.join(ws.root, 'src', 'cart.ts')).toString();
    const text = await fs.readFile(path.join(ws.root, 'src', 'cart.ts'), 'utf8');
    await server.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version: 1, text } });
    const line = text.split('\n').findIndex((l) => l.includes('function checkout'));
    const position = { line, character: text.split('\n')[line].indexOf('checkout') + 2 };
    const t0 = performance.now();
    const hover = await server.conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    const ms = performance.now() - t0;
    assert.ok(hover, 'a hover');
    assert.ok(ms < 2000 + 500, `answered in ${ms.toFixed(0)} ms`);
    const md = (hover.contents as MarkupContent).value;
    assert.match(md, /`checkout`/);
    // Every explanation carries a verdict (an explanation is free-form: labelled as not checked).
    if (!/_No explanation\._/.test(md)) assert.match(md, /(✓ _checked: |⚠ \*\*not found in the repository|ℹ _not checked: )/);
    const t1 = performance.now();
    const again = await server.conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    assert.deepEqual(again, hover, 'same version: cached');
    assert.ok(performance.now() - t1 < ms, 'cached hover is faster');

    // A deadline too short for any answer: what is ready plus a "continue in chat" link.
    await server.conn.sendNotification('workspace/didChangeConfiguration', { settings: { repopot: { hover: { enabled: true, deadlineMs: 1 } } } });
    const cut = await server.conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    assert.ok(cut);
    assert.match((cut.contents as MarkupContent).value, new RegExp(`command:${continueInChatCommand.replace('.', '\\.')}`));
    // Hover off: nothing.
    await server.conn.sendNotification('workspace/didChangeConfiguration', { settings: { repopot: { hover: { enabled: false, deadlineMs: 2000 } } } });
    assert.equal(await server.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position }), null);
    await server.conn.sendNotification('workspace/didChangeConfiguration', { settings: { repopot: { hover: { enabled: true, deadlineMs: 2000 } } } });
  });

  it('pauses, resumes and rebuilds', async () => {
    await server.idle();
    const paused = await server.request(pauseRequest);
    assert.equal(paused.state, 'paused');
    const resumed = await server.request(resumeRequest);
    assert.equal(resumed.state, 'idle');
    const since = server.statuses[server.statuses.length - 1].seq;
    const rebuilt = await server.request(rebuildRequest);
    assert.equal(rebuilt.state, 'ingesting');
    const done = await server.idle(since);
    assert.equal(done.restored, false);
    assert.ok(done.filesDone > 0);
  });

  it('restores the persisted cache after the server is killed and restarted', async () => {
    const before = await server.idle();
    await server.kill();
    server = await ServerUnderTest.start(ws.root, { cacheDir, maxAnswerTokens: 48 });
    const done = await server.idle();
    assert.equal(done.restored, true, 'restored from the persisted pot');
    assert.equal(done.tokensKept, before.tokensKept);
    assert.equal(done.tokensSeen, before.tokensSeen, 'nothing re-ingested: files unchanged');
    const { result } = await server.ask('What does bulk_price do?');
    assert.ok(result && result.sources.length > 0);
  });

  it('answers while a long ingest is running (ingestion yields between chunks)', async () => {
    const big = await fs.mkdtemp(path.join(os.tmpdir(), 'repopot-big-'));
    tmpDirs.push(big);
    for (let f = 0; f < 40; f++) {
      const body = Array.from({ length: 60 }, (_, i) => `export function f${f}_${i}(x: number): number {\n  return x * ${i} + ${f};\n}\n`).join('\n');
      await fs.writeFile(path.join(big, `module${f}.ts`), body);
    }
    const s = await ServerUnderTest.start(big, { maxAnswerTokens: 16 });
    try {
      await s.waitForStatus((st) => st.state === 'ingesting' && st.filesDone >= 1 && st.tokensSeen > 0);
      const { result } = await s.ask('Which function adds f?');
      assert.ok(result, 'answered');
      const now = s.statuses[s.statuses.length - 1];
      assert.ok(now.state !== 'idle' && now.filesDone < now.filesTotal, `ingestion still running when the answer came (${now.state}, ${now.filesDone}/${now.filesTotal})`);
      const next = await s.waitForStatus((st) => st.state === 'ingesting', now.seq);
      assert.ok(next.tokensSeen >= now.tokensSeen, 'ingestion went on after the answer');
      assert.ok(next.compression >= 1);
    } finally {
      await s.stop();
    }
  });

  it('decodes with the configured decoder (parallel is exact: same answer as sequential)', async () => {
    await server.idle();
    const question = 'What does apply_discount return?';
    const sequential = await server.ask(question);
    const s = await ServerUnderTest.start(ws.root, { maxAnswerTokens: 48, decoder: 'parallel' });
    try {
      await s.idle();
      const parallel = await s.ask(question);
      assert.ok(sequential.result && parallel.result);
      assert.equal(parallel.result.text, sequential.result.text);
      assert.equal(parallel.progress.filter((p) => p.kind === 'token').map((p) => (p.kind === 'token' ? p.text : '')).join(''), parallel.result.text);
    } finally {
      await s.stop();
    }
  });

  it('handles an empty repository', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'repopot-empty-'));
    tmpDirs.push(empty);
    const s = await ServerUnderTest.start(empty, {});
    try {
      const done = await s.idle();
      assert.equal(done.filesTotal, 0);
      assert.equal(done.tokensKept, 0);
      const report: IngestReport = await s.request(ingestReportRequest);
      assert.deepEqual(report.ingested, []);
      const { result } = await s.ask('Is anything here?');
      assert.ok(result, 'answers even with nothing ingested');
      assert.deepEqual(result.sources, []);
    } finally {
      await s.stop();
    }
  });

  it('reports a missing model as an error state, and stays up', async () => {
    const s = await ServerUnderTest.start(ws.root, { modelPath: path.join(os.tmpdir(), 'no-such-model') });
    try {
      const failed = await s.waitForStatus((st) => st.state === 'error');
      assert.match(failed.message ?? '', /model/i);
      await assert.rejects(s.request(askRequest, { question: 'hello?' }), /model/i);
    } finally {
      await s.stop();
    }
  });
});

describe('language server units', () => {
  it('EngineLock serves interactive callers before background ones', async () => {
    const { EngineLock } = await import('../server/src/lsp/scheduler');
    const lock = new EngineLock();
    const order: string[] = [];
    const first = await lock.acquire('background');
    const bg = lock.acquire('background').then((r) => (order.push('background'), r));
    const ia = lock.acquire('interactive').then((r) => (order.push('interactive'), r));
    first();
    (await ia)();
    (await bg)();
    assert.deepEqual(order, ['interactive', 'background']);
    const held = await lock.acquire('background');
    const ac = new AbortController();
    const waiting = lock.acquire('interactive', ac.signal);
    ac.abort();
    await assert.rejects(waiting);
    held();
    (await lock.acquire('interactive'))();
  });

  it('symbolAt finds the identifier under the cursor', async () => {
    const { symbolAt } = await import('../server/src/lsp/hover');
    const { TextDocument } = await import('vscode-languageserver-textdocument');
    const doc = TextDocument.create('file:///x.ts', 'typescript', 1, 'const total = cart.total();\nx 42');
    assert.equal(symbolAt(doc, { line: 0, character: 8 })?.name, 'total');
    assert.equal(symbolAt(doc, { line: 0, character: 16 })?.name, 'cart');
    assert.equal(symbolAt(doc, { line: 0, character: 13 }), undefined, 'punctuation and spaces');
    assert.equal(symbolAt(doc, { line: 1, character: 3 }), undefined, 'a number');
  });
});
