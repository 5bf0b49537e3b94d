// Client lifecycle: builds the server options (IPC to dist/server.js), starts, stops and restarts the
// language client, and carries the typed requests of lsp/protocol.ts. Two cleanup lists: the extension's
// (live until deactivation) and the client's (dropped with each client).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CancellationToken,
  DidChangeConfigurationNotification,
  LanguageClient,
  ProgressType,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  askRequest,
  continueInChatCommand,
  questionFormsRequest,
  statusNotification,
  type AskParams,
  type AskProgress,
  type AskResult,
  type QuestionFormsParams,
  type QuestionFormsResult,
  type RequestSpec,
  type ServerSettings,
  type StatusParams,
} from '../../server/src/lsp/protocol';
import { Config } from './config';
import { resolveModel, type ModelProblem } from './models';

export type ClientHealth = { kind: 'stopped' } | { kind: 'starting' } | { kind: 'running'; status?: StatusParams } | { kind: 'problem'; problem: ModelProblem };

const askProgress = new ProgressType<AskProgress>();

export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly output: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly extDisposables: vscode.Disposable[] = [];
  private clientDisposables: vscode.Disposable[] = [];
  private readonly healthEmitter = new vscode.EventEmitter<ClientHealth>();
  /** Fires whenever the client's health or the server's status changes. */
  readonly onDidChangeHealth = this.healthEmitter.event;
  private currentHealth: ClientHealth = { kind: 'stopped' };

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('RepoPot', { log: true });
    this.extDisposables.push(this.output, this.healthEmitter);
  }

  get health(): ClientHealth {
    return this.currentHealth;
  }

  get isRunning(): boolean {
    return this.client?.state === State.Running;
  }

  private setHealth(h: ClientHealth): void {
    this.currentHealth = h;
    this.healthEmitter.fire(h);
  }

  pushExtCleanup(d: vscode.Disposable): void {
    this.extDisposables.push(d);
  }

  private cacheDir(): string {
    const base = this.extension.storageUri ?? this.extension.globalStorageUri;
    return path.join(base.fsPath, 'cache');
  }

  private serverSettings(modelPath: string, modelLabel: string): ServerSettings {
    return { ...this.config.serverSettings(), modelPath, modelLabel, cacheDir: this.cacheDir() };
  }

  /** Starts the client, unless the model cannot be resolved (then the problem is shown instead). */
  async start(): Promise<void> {
    if (this.client) return;
    const resolved = resolveModel(this.extension, this.config);
    if ('problem' in resolved) {
      this.output.warn(resolved.problem.message);
      this.setHealth({ kind: 'problem', problem: resolved.problem });
      return;
    }
    const serverModule = this.extension.asAbsolutePath(path.join('dist', 'server.js'));
    if (!fs.existsSync(serverModule)) {
      throw new Error(`the language server is missing (${serverModule}); reinstall RepoPot or run "npm run build"`);
    }
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
    };
    const config = this.config;
    // Document notifications that arrive once this client is being replaced are dropped: sent while stop() runs,
    // vscode-languageclient fails them and logs an error. (Ones already in flight when a restart begins are let
    // through first: restart().)
    const current = (): boolean => this.client === client;
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.output,
      initializationOptions: { settings: this.serverSettings(resolved.dir, resolved.label) },
      middleware: {
        didOpen: (document, next) => (current() ? next(document) : Promise.resolve()),
        didChange: (event, next) => (current() ? next(event) : Promise.resolve()),
        didSave: (document, next) => (current() ? next(document) : Promise.resolve()),
        didClose: (document, next) => (current() ? next(document) : Promise.resolve()),
        provideHover: async (document, position, token, next) => {
          if (!config.hoverEnabled) return undefined;
          const hover = await next(document, position, token);
          for (const c of hover?.contents ?? []) {
            // Only the "continue in chat" command may run from RepoPot's hovers.
            if (c instanceof vscode.MarkdownString) c.isTrusted = { enabledCommands: [continueInChatCommand] };
          }
          return hover;
        },
      },
    };
    const client = new LanguageClient('repopot', 'RepoPot', serverOptions, clientOptions);
    this.client = client;
    this.setHealth({ kind: 'starting' });
    this.clientDisposables.push(
      client.onNotification(statusNotification.method, (s: StatusParams) => this.setHealth({ kind: 'running', status: s })),
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped && this.client === client) this.setHealth({ kind: 'stopped' });
        if (e.newState === State.Starting) this.setHealth({ kind: 'starting' });
      }),
    );
    await client.start();
    if (this.currentHealth.kind === 'starting') this.setHealth({ kind: 'running' });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientDisposables.splice(0)) d.dispose();
    if (client) {
      await client.stop().catch((err: unknown) => this.output.error(`stopping the server: ${String(err)}`));
      await client.dispose();
    }
    this.setHealth({ kind: 'stopped' });
  }

  /** Restarts run one at a time: two overlapping ones could leave the gauge showing "stopped" over a running server. */
  restart(): Promise<void> {
    const next = this.lifecycle.then(async () => {
      // A setting change arrives with its settings file's didClose (code-server keeps settings.json as a file): let
      // that notification finish on the old client before stopping it, or the library fails it mid-send.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      await this.stop();
      await this.start();
    });
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  /** Settings that apply without a restart go to the running server. */
  async pushLiveSettings(): Promise<void> {
    if (!this.client || !this.isRunning) return;
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { repopot: this.config.serverSettings() } });
  }

  private requireClient(): LanguageClient {
    if (this.currentHealth.kind === 'problem') throw new Error(this.currentHealth.problem.message);
    if (!this.client || !this.isRunning) throw new Error('the RepoPot server is not running (RepoPot: Restart Server, or see the logs)');
    return this.client;
  }

  request<P, R>(spec: RequestSpec<P, R>, params?: P, token?: CancellationToken): Promise<R> {
    const client = this.requireClient();
    return params === undefined ? client.sendRequest<R>(spec.method, token) : client.sendRequest<R>(spec.method, params, token);
  }

  /** Asks, streaming progress (tokens, then sources) to `onProgress`. */
  async ask(params: Omit<AskParams, 'partialResultToken'>, onProgress: (p: AskProgress) => void, token?: CancellationToken): Promise<AskResult> {
    const client = this.requireClient();
    const progressToken = `ask-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const sub = client.onProgress(askProgress, progressToken, onProgress);
    try {
      return await client.sendRequest<AskResult>(askRequest.method, { ...params, partialResultToken: progressToken }, token);
    } finally {
      sub.dispose();
    }
  }

  /** The question forms the model answers, with workspace symbols starting with `params.prefix`. */
  questionForms(params: QuestionFormsParams, token?: CancellationToken): Promise<QuestionFormsResult> {
    return this.request(questionFormsRequest, params, token);
  }

  /** Shows an error with a way to the logs. */
  async showError(message: string): Promise<void> {
    this.output.error(message);
    const pick = await vscode.window.showErrorMessage(`RepoPot: ${message}`, 'Open Logs');
    if (pick === 'Open Logs') this.output.show();
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const d of this.extDisposables.splice(0)) d.dispose();
  }
}
