// RepoPot's language server: spawned by the extension over IPC (or --stdio), owns the model, the pot
// and background ingestion. Custom requests are declared in lsp/protocol.ts.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CancellationToken,
  createConnection,
  ProgressType,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeError } from './model/errors';
import { loadDistilledPot } from './lsp/engineBinding';
import { workspaceRelative } from './lsp/answerer';
import { ERROR_CODES } from './vocab';
import { HoverExplainer } from './lsp/hover';
import {
  askRequest,
  defaultSettings,
  ingestReportRequest,
  pauseRequest,
  questionFormsRequest,
  rebuildRequest,
  resumeRequest,
  statusNotification,
  statusRequest,
  type AskProgress,
  type AskResult,
  type ConfigurationChange,
  type NotificationSpec,
  type RequestSpec,
  type InitializationOptions,
  type ServerSettings,
} from './lsp/protocol';
import { Session } from './lsp/session';
import { isAbortError } from './util/abort';

const ErrorCode = ERROR_CODES;

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
let session: Session | undefined;
let hover: HoverExplainer | undefined;

const askProgress = new ProgressType<AskProgress>();

/** Registers a handler for a request declared in protocol.ts. */
function onRequest<P, R>(spec: RequestSpec<P, R>, handler: (params: P, token: CancellationToken) => R | Promise<R>): void {
  // vscode-jsonrpc calls a handler with (token) when the request has no params, else (params, token).
  connection.onRequest(spec.method, async (...args: unknown[]): Promise<unknown> => {
    const token = args[args.length - 1] as CancellationToken;
    return await handler((args.length > 1 ? args[0] : undefined) as P, token);
  });
}

function sendNotification<P>(spec: NotificationSpec<P>, params: P): void {
  void connection.sendNotification(spec.method, params);
}

function log(message: string): void {
  connection.console.log(message);
}

process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${describeError(reason)}`));

function mergeSettings(base: ServerSettings, patch: Partial<ServerSettings> | undefined): ServerSettings {
  if (!patch) return base;
  const out: ServerSettings = { ...base };
  for (const key of Object.keys(defaultSettings) as (keyof ServerSettings)[]) {
    const v = patch[key];
    if (v !== undefined && v !== null && typeof v === typeof base[key]) (out as unknown as Record<string, unknown>)[key] = v;
  }
  if (patch.hover) out.hover = { ...base.hover, ...patch.hover };
  if (patch.cache && typeof patch.cache === 'object') out.cache = { ...base.cache, ...patch.cache };
  if (patch.steering && typeof patch.steering === 'object') out.steering = { ...base.steering, ...patch.steering };
  return out;
}

function toAbortSignal(token: CancellationToken): AbortSignal {
  const ac = new AbortController();
  if (token.isCancellationRequested) ac.abort();
  else token.onCancellationRequested(() => ac.abort());
  return ac.signal;
}

function requireSession(): Session {
  if (!session) throw new ResponseError(ErrorCode.NotReady, 'RepoPot has no workspace folder open');
  return session;
}

function relativePath(uri: string): string {
  return session ? workspaceRelative(session.root, uri) : uri;
}

connection.onInitialize((params): InitializeResult => {
  const init = (params.initializationOptions ?? {}) as InitializationOptions;
  const settings = mergeSettings(defaultSettings, init.settings);
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
  if (folder && folder.startsWith('file:')) {
    session = new Session(fileURLToPath(folder), settings, {
      sendStatus: (s) => sendNotification(statusNotification, s),
      notify: (message) => void connection.window.showWarningMessage(message),
      log,
      loadPot: (s, root) => loadDistilledPot(s, root, log),
    });
    hover = new HoverExplainer(session);
  }
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      hoverProvider: true,
    },
    serverInfo: { name: 'repopot', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  // Started after the initialize response so the first status notification follows it.
  void session?.start();
});

connection.onDidChangeConfiguration((change) => {
  const patch = (change.settings as ConfigurationChange | undefined)?.repopot;
  if (session && patch) {
    session.updateLiveSettings(mergeSettings(session.currentSettings, patch));
    hover?.clear();
  }
});

onRequest(askRequest, async (params, token): Promise<AskResult> => {
  const s = requireSession();
  if (typeof params?.question !== 'string' || params.question.trim() === '') {
    throw new ResponseError(ErrorCode.Failed, 'repopot/ask needs a non-empty question');
  }
  const signal = toAbortSignal(token);
  const progressToken = params.partialResultToken;
  try {
    const answer = await s.answer({
      question: params.question,
      selection: params.selection,
      steer: typeof params.steer === 'boolean' ? params.steer : undefined,
      signal,
      onToken: (text) => {
        if (progressToken !== undefined) void connection.sendProgress(askProgress, progressToken, { kind: 'token', text });
      },
    });
    if (progressToken !== undefined) await connection.sendProgress(askProgress, progressToken, { kind: 'sources', sources: answer.sources });
    if (answer.stopReason === 'cancelled' && token.isCancellationRequested) {
      throw new ResponseError(ErrorCode.RequestCancelled, 'cancelled', answer);
    }
    return answer;
  } catch (err) {
    if (err instanceof ResponseError) throw err;
    if (signal.aborted || isAbortError(err)) throw new ResponseError(ErrorCode.RequestCancelled, 'cancelled');
    throw new ResponseError(ErrorCode.Failed, describeError(err));
  }
});

connection.onHover(async (params, token) => {
  if (!hover) return null;
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return null;
  try {
    return await hover.hover(doc, params.position, relativePath(doc.uri), toAbortSignal(token));
  } catch (err) {
    log(`hover failed: ${describeError(err)}`);
    return null;
  }
});

onRequest(statusRequest, () => requireSession().status.snapshot());
onRequest(pauseRequest, () => requireSession().pause());
onRequest(resumeRequest, () => requireSession().resume());
onRequest(rebuildRequest, async () => {
  try {
    return await requireSession().rebuild();
  } catch (err) {
    throw new ResponseError(ErrorCode.Failed, describeError(err));
  }
});
onRequest(ingestReportRequest, () => requireSession().report());
onRequest(questionFormsRequest, async (params, token) => {
  const signal = toAbortSignal(token);
  try {
    return await requireSession().questionForms({ prefix: typeof params?.prefix === 'string' ? params.prefix : undefined, limit: typeof params?.limit === 'number' ? params.limit : undefined }, signal);
  } catch (err) {
    if (signal.aborted || isAbortError(err)) throw new ResponseError(ErrorCode.RequestCancelled, 'cancelled');
    throw new ResponseError(ErrorCode.Failed, describeError(err));
  }
});

documents.onDidSave((e) => {
  if (!session || !e.document.uri.startsWith('file:')) return;
  if (!fileURLToPath(e.document.uri).startsWith(session.root + path.sep)) return;
  session.fileSaved();
});

connection.onShutdown(async () => {
  await session?.dispose();
  session = undefined;
});

documents.listen(connection);
connection.listen();
