// The sidebar chat: a webview view (media/chat.css, dist/webview/chat.js bundled from media/chat.js).
// Messages are {type, value} in both directions; answers stream in as tokens, then sources.
// History is kept per workspace (workspaceState); the webview keeps its draft with getState/setState.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { STOPPED_CHECK } from '../../server/src/check/verdict';
import { errorCodes, type AnswerCheck, type AskSelection, type QuestionForm, type Source, type StopReason, type WorkspaceSymbol } from '../../server/src/lsp/protocol';
import type { Ctx } from './ctx';

export const CHAT_VIEW_TYPE = 'repopot.chat';
const HISTORY_KEY = 'repopot.chatHistory';
const HISTORY_LIMIT = 50;

export interface ChatEntry {
  id: string;
  question: string;
  answer: string;
  sources: Source[];
  stopReason?: StopReason;
  /** The answer checked against the repository (absent while streaming and on errors). */
  check?: AnswerCheck;
  /** A plain note under the answer (a free-form question to the built-in model). */
  note?: string;
  error?: string;
  done: boolean;
}

/** How many symbols the chat's completion list holds at a time. */
const SYMBOL_LIMIT = 100;

/** Webview → extension. */
export type FromWebview =
  | { type: 'ready'; value?: undefined }
  | { type: 'ask'; value: string; steer?: boolean }
  | { type: 'stop'; value?: undefined }
  | { type: 'openSource'; value: { uri: string; line: number } }
  | { type: 'copy'; value: string }
  | { type: 'clear'; value?: undefined }
  /** Workspace symbols starting with `value`, for completing a question form (also fetches the forms). */
  | { type: 'symbols'; value: string };

/** Extension → webview. */
export type ToWebview =
  | { type: 'history'; value: ChatEntry[] }
  | { type: 'start'; value: ChatEntry }
  | { type: 'token'; value: { id: string; text: string } }
  | { type: 'sources'; value: { id: string; sources: Source[] } }
  | { type: 'end'; value: ChatEntry }
  | { type: 'busy'; value: boolean }
  | { type: 'focusInput'; value?: undefined }
  | { type: 'forms'; value: { forms: QuestionForm[]; trainedForLookups: boolean } }
  | { type: 'symbols'; value: { prefix: string; symbols: WorkspaceSymbol[] } };

export class ChatView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly pending: ToWebview[] = [];
  private current: { id: string; cts: vscode.CancellationTokenSource } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly extensionUri: vscode.Uri,
  ) {
    // Once the server has read the workspace (again), the forms and symbols are (re)offered.
    let wasIdle = false;
    this.disposables.push(
      ctx.onDidChangeHealth((h) => {
        const idle = h.kind === 'running' && h.status?.state === 'idle';
        if (idle && !wasIdle && this.view && this.ready) void this.sendSymbols('');
        wasIdle = idle;
      }),
    );
  }

  private get history(): ChatEntry[] {
    // An entry saved mid-answer (window closed while streaming) reads back as stopped.
    return this.ctx.extension.workspaceState
      .get<ChatEntry[]>(HISTORY_KEY, [])
      .map((e) => (e.done ? e : { ...e, done: true, stopReason: 'cancelled' as const }));
  }

  private async saveHistory(entries: ChatEntry[]): Promise<void> {
    await this.ctx.extension.workspaceState.update(HISTORY_KEY, entries.slice(-HISTORY_LIMIT));
  }

  /** Previous questions, newest first (for the command palette's input history). */
  questions(): string[] {
    return [...new Set(this.history.map((e) => e.question).reverse())];
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const webview = view.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media'), vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
    };
    webview.html = this.html(webview);
    this.disposables.push(
      webview.onDidReceiveMessage((m: FromWebview) => void this.onMessage(m)),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      }),
    );
  }

  private post(m: ToWebview): void {
    if (this.view && this.ready) void this.view.webview.postMessage(m);
    else this.pending.push(m);
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        void this.view?.webview.postMessage({ type: 'history', value: this.history } satisfies ToWebview);
        void this.view?.webview.postMessage({ type: 'busy', value: this.current !== undefined } satisfies ToWebview);
        for (const p of this.pending.splice(0)) if (p.type !== 'history') void this.view?.webview.postMessage(p);
        void this.sendSymbols('');
        break;
      case 'ask':
        if (typeof m.value === 'string' && m.value.trim()) await this.ask(m.value.trim(), undefined, typeof m.steer === 'boolean' ? m.steer : undefined);
        break;
      case 'stop':
        this.stop();
        break;
      case 'openSource': {
        const uri = vscode.Uri.parse(m.value.uri);
        const line = Math.max(0, m.value.line);
        await vscode.window.showTextDocument(uri, { selection: new vscode.Range(line, 0, line, 0), preview: true });
        break;
      }
      case 'copy':
        await vscode.env.clipboard.writeText(m.value);
        void vscode.window.setStatusBarMessage('RepoPot: copied', 2000);
        break;
      case 'clear':
        await this.saveHistory([]);
        this.post({ type: 'history', value: [] });
        break;
      case 'symbols':
        await this.sendSymbols(typeof m.value === 'string' ? m.value : '');
        break;
    }
  }

  /** The question forms and the workspace symbols starting with `prefix` (nothing while the server is not ready). */
  private async sendSymbols(prefix: string): Promise<void> {
    try {
      const r = await this.ctx.questionForms({ prefix, limit: SYMBOL_LIMIT });
      this.post({ type: 'forms', value: { forms: r.forms, trainedForLookups: r.trainedForLookups } });
      this.post({ type: 'symbols', value: { prefix, symbols: r.symbols } });
    } catch (err) {
      this.ctx.output.debug(`question forms unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_TYPE}.focus`);
  }

  stop(): void {
    this.current?.cts.cancel();
  }

  /** Asks the server, streaming into the chat. One answer at a time: a new question stops the previous one. */
  async ask(question: string, selection?: AskSelection, steer?: boolean): Promise<void> {
    this.stop();
    await this.reveal();
    const entry: ChatEntry = { id: randomBytes(6).toString('hex'), question, answer: '', sources: [], done: false };
    const cts = new vscode.CancellationTokenSource();
    this.current = { id: entry.id, cts };
    this.post({ type: 'start', value: entry });
    this.post({ type: 'busy', value: true });
    try {
      const result = await this.ctx.ask(
        { question, selection, steer },
        (p) => {
          if (p.kind === 'token') {
            entry.answer += p.text;
            this.post({ type: 'token', value: { id: entry.id, text: p.text } });
          } else {
            entry.sources = p.sources;
            this.post({ type: 'sources', value: { id: entry.id, sources: p.sources } });
          }
        },
        cts.token,
      );
      entry.answer = result.text;
      entry.sources = result.sources;
      entry.stopReason = result.stopReason;
      entry.check = result.check;
      entry.note = result.note;
    } catch (err) {
      if (cts.token.isCancellationRequested || (err instanceof ResponseError && err.code === errorCodes.RequestCancelled)) {
        entry.stopReason = 'cancelled';
        entry.check = STOPPED_CHECK;
      } else {
        entry.error = err instanceof Error ? err.message : String(err);
        this.ctx.output.error(`ask failed: ${entry.error}`);
      }
    } finally {
      entry.done = true;
      if (this.current?.id === entry.id) this.current = undefined;
      cts.dispose();
      this.post({ type: 'end', value: entry });
      this.post({ type: 'busy', value: this.current !== undefined });
      await this.saveHistory([...this.history, entry]);
    }
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'chat.css'));
    const js = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'chat.js'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link href="${css}" rel="stylesheet">
  <title>RepoPot Chat</title>
</head>
<body>
  <main id="log" role="log" aria-live="polite" aria-label="Answers"></main>
  <form id="lookup" class="lookup" aria-label="Questions the model answers" hidden>
    <select id="form" aria-label="Question form" title="Questions the model was trained to answer"></select>
    <input id="symbol" list="symbols" placeholder="symbol" aria-label="Symbol" autocomplete="off" spellcheck="false">
    <datalist id="symbols"></datalist>
    <button type="submit" id="lookupAsk" class="secondary" title="Ask this question">Ask</button>
  </form>
  <form id="ask" aria-label="Ask about this repository">
    <textarea id="question" rows="2" placeholder="Ask about this repository… (Enter to send, Shift+Enter for a new line)" aria-label="Question"></textarea>
    <div class="actions">
      <label class="steer" title="KV-cache steering for this question (step-by-step reasoning); unchecked by default follows repopot.steering.enabled"><input type="checkbox" id="steer"> Steer</label>
      <button type="button" id="clear" class="secondary" title="Clear history">Clear</button>
      <button type="button" id="stop" class="secondary" title="Stop the answer" disabled>Stop</button>
      <button type="submit" id="send" title="Ask">Ask</button>
    </div>
  </form>
  <script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
