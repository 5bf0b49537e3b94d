// Activation and the command table. The extension host stays light: the model, cache and ingestion live
// in the language server (dist/server.js); this side starts it and renders what it reports.
import * as vscode from 'vscode';
import {
  continueInChatCommand,
  pauseRequest,
  rebuildRequest,
  resumeRequest,
  type ContinueInChatArgs,
  type StatusParams,
} from '../../server/src/lsp/protocol';
import { CHAT_VIEW_TYPE, ChatView } from './chat_view';
import { Ctx, type ClientHealth } from './ctx';
import { InlineAnswers } from './inline';
import { chooseModel, downloadModel } from './models';
import { askAboutRepo } from './question_forms';
import { Gauge } from './status_bar';

let ctx: Ctx | undefined;

type Command = (...args: unknown[]) => unknown;

/** What activate() returns: read-only health for tests and other extensions. */
export interface RepoPotApi {
  readonly health: ClientHealth;
  readonly onDidChangeHealth: vscode.Event<ClientHealth>;
}

export async function activate(extension: vscode.ExtensionContext): Promise<RepoPotApi> {
  const c = new Ctx(extension);
  ctx = c;
  const gauge = new Gauge();
  const chat = new ChatView(c, extension.extensionUri);
  const inline = new InlineAnswers(c);
  c.pushExtCleanup(gauge);
  c.pushExtCleanup(chat);
  c.pushExtCleanup(inline);
  c.pushExtCleanup(vscode.window.registerWebviewViewProvider(CHAT_VIEW_TYPE, chat, { webviewOptions: { retainContextWhenHidden: true } }));
  c.pushExtCleanup(c.onDidChangeHealth((h) => gauge.render(h)));
  const firstIngest = new FirstIngestProgress(c);
  c.pushExtCleanup(firstIngest);
  c.pushExtCleanup(c.onDidChangeHealth((h) => firstIngest.observe(h)));
  c.pushExtCleanup(c.onDidChangeHealth((h) => void showProblem(h)));

  const control = async (spec: typeof pauseRequest, what: string): Promise<void> => {
    try {
      await c.request(spec);
    } catch (err) {
      await c.showError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const commands: Record<string, Command> = {
    'repopot.askAboutRepo': async () => {
      const question = await askAboutRepo(c, chat.questions());
      if (question) await chat.ask(question);
    },
    'repopot.askAboutSelection': async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return void vscode.window.showInformationMessage('RepoPot: open a file and select some code first.');
      await inline.askAboutSelection(editor);
    },
    'repopot.openChat': () => chat.reveal(),
    'repopot.stopAnswer': () => chat.stop(),
    [continueInChatCommand]: async (args?: unknown) => {
      const a = args as Partial<ContinueInChatArgs> | undefined;
      if (a?.question) await chat.ask(a.question);
      else await chat.reveal();
    },
    'repopot.stopInline': (thread?: unknown) => inline.stop(thread as vscode.CommentThread | undefined),
    'repopot.dismissInline': (thread?: unknown) => inline.dismiss(thread as vscode.CommentThread | undefined),
    'repopot.pause': () => control(pauseRequest, 'Pause'),
    'repopot.resume': () => control(resumeRequest, 'Resume'),
    'repopot.rebuildCache': () => control(rebuildRequest, 'Rebuild'),
    'repopot.chooseModel': async () => {
      const before = c.config.model;
      // A changed repopot.model restarts the server through the configuration listener; only re-picking the same model restarts here.
      if ((await chooseModel(extension, c.config, c.output)) && c.config.model === before) await c.restart();
    },
    'repopot.openSettings': () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:repopot.repopot'),
    'repopot.openLogs': () => c.output.show(),
    'repopot.restartServer': () => c.restart(),
    'repopot.showMenu': () => showMenu(c),
  };
  for (const [id, fn] of Object.entries(commands)) {
    c.pushExtCleanup(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await fn(...args);
        } catch (err) {
          await c.showError(err instanceof Error ? err.message : String(err));
        }
      }),
    );
  }

  c.pushExtCleanup(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('repopot')) return;
      if (c.config.needsRestart(e)) await c.restart().catch((err: unknown) => c.showError(`restart failed: ${String(err)}`));
      else await c.pushLiveSettings();
    }),
  );
  c.pushExtCleanup(vscode.workspace.onDidGrantWorkspaceTrust(() => void c.restart()));

  try {
    await c.start();
  } catch (err) {
    // VS Code shows nothing when activation fails: say so, with the logs.
    await c.showError(`could not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    get health() {
      return c.health;
    },
    onDidChangeHealth: c.onDidChangeHealth,
  };
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}

async function showMenu(c: Ctx): Promise<void> {
  const status = c.health.kind === 'running' ? c.health.status : undefined;
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: '$(comment-discussion) Open Chat', command: 'repopot.openChat' },
    status?.state === 'paused'
      ? { label: '$(debug-continue) Resume Ingestion', command: 'repopot.resume' }
      : { label: '$(debug-pause) Pause Ingestion', command: 'repopot.pause' },
    { label: '$(refresh) Rebuild Cache', command: 'repopot.rebuildCache' },
    { label: '$(symbol-class) Choose Model…', command: 'repopot.chooseModel' },
    { label: '$(gear) Settings', command: 'repopot.openSettings' },
    { label: '$(output) Show Logs', command: 'repopot.openLogs' },
    { label: '$(debug-restart) Restart Server', command: 'repopot.restartServer' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'RepoPot', placeHolder: status ? `${status.state} · ${status.model} on ${status.device}` : 'RepoPot' });
  if (pick) await vscode.commands.executeCommand(pick.command);
}

let shownProblem: string | undefined;
/** Model problems (none chosen and none bundled, not downloaded, bad folder) as one clear message. */
async function showProblem(h: ClientHealth): Promise<void> {
  if (h.kind === 'running' && h.status?.state === 'error' && h.status.message && h.status.message !== shownProblem) {
    shownProblem = h.status.message;
    await ctx?.showError(h.status.message);
    return;
  }
  if (h.kind !== 'problem' || h.problem.message === shownProblem || !ctx) return;
  shownProblem = h.problem.message;
  const c = ctx;
  const actions = h.problem.download ? ['Download', 'Choose Model…'] : ['Choose Model…'];
  const pick = await vscode.window.showWarningMessage(`RepoPot: ${h.problem.message}`, ...actions);
  if (pick === 'Download' && h.problem.download) {
    if (await downloadModel(c.extension, h.problem.download, c.output)) await c.restart();
  } else if (pick === 'Choose Model…') {
    await vscode.commands.executeCommand('repopot.chooseModel');
  }
}

/** A progress notification (cancel = pause) during the workspace's first ingest. */
class FirstIngestProgress implements vscode.Disposable {
  private static readonly KEY = 'repopot.firstIngestDone';
  private resolve: (() => void) | undefined;
  private report: ((s: StatusParams) => void) | undefined;
  /** Set when the notification is asked for (withProgress may start its task later). */
  private shown = false;

  constructor(private readonly c: Ctx) {}

  observe(h: ClientHealth): void {
    const s = h.kind === 'running' ? h.status : undefined;
    if (!s) return;
    if (s.state === 'ingesting' && !this.shown && !s.restored && !this.c.extension.workspaceState.get<boolean>(FirstIngestProgress.KEY)) this.open();
    this.report?.(s);
    if (this.shown && (s.state === 'idle' || s.state === 'error')) {
      if (s.state === 'idle') void this.c.extension.workspaceState.update(FirstIngestProgress.KEY, true);
      this.close();
    }
  }

  private open(): void {
    this.shown = true;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'RepoPot: reading the workspace', cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          if (!this.shown) return resolve(); // closed before the notification started
          let lastPct = 0;
          this.report = (s) => {
            const pct = s.filesTotal > 0 ? Math.floor((100 * s.filesDone) / s.filesTotal) : 0;
            progress.report({ message: `${s.filesDone}/${s.filesTotal} files · ${s.tokensSeen.toLocaleString('en-US')} tokens`, increment: Math.max(0, pct - lastPct) });
            lastPct = Math.max(lastPct, pct);
          };
          const sub = token.onCancellationRequested(() => {
            void vscode.commands.executeCommand('repopot.pause');
            void vscode.window.showInformationMessage('RepoPot: ingestion paused. Resume it from the status bar.');
            this.close();
          });
          this.resolve = () => {
            sub.dispose();
            resolve();
          };
        }),
    );
  }

  private close(): void {
    const r = this.resolve;
    this.shown = false;
    this.resolve = undefined;
    this.report = undefined;
    r?.();
  }

  dispose(): void {
    this.close();
  }
}
