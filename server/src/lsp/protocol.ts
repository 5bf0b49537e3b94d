// RepoPot's custom LSP surface, declared once and imported by both the server and the extension.
// Imports only types from vscode-languageserver-protocol, and the shared vocabularies and defaults
// (server/src/vocab.ts, dependency-free). Messages are declared as plain typed specs
// (method name + phantom param/result types) rather than RequestType instances: the server and the client
// libraries each carry their own copy of vscode-jsonrpc, whose classes are not interchangeable.
import type { PartialResultParams, Range } from 'vscode-languageserver-protocol';
import type { AnswerCheck, QuestionForm, WorkspaceSymbol } from '../check/types';

export type { AnswerCheck, CheckStatus, QuestionForm, QuestionKind, WorkspaceSymbol } from '../check/types';
import type { DistillSettings } from '../distill/distiller';
import { DEFAULT_ANSWER_TOKENS, DEFAULT_BUDGET, DEFAULT_CHUNK_TOKENS, DEFAULT_DECODER, DEFAULT_DEVICE, DEFAULT_KV_DTYPE, DEFAULT_POLICY, DEFAULT_REREAD_TOKENS, DEFAULT_SNAP_PATHS, DEFAULT_SNAP_VALUES, ERROR_CODES, type DecoderSetting, type Device, type KvDtype } from '../vocab';

/** A request `method` taking P and returning R. */
export interface RequestSpec<P, R> {
  readonly method: string;
  /** Phantom: never set, carries the types. */
  readonly types?: (p: P) => R;
}

/** A notification `method` carrying P. */
export interface NotificationSpec<P> {
  readonly method: string;
  readonly types?: (p: P) => void;
}

function request<P, R>(method: string): RequestSpec<P, R> {
  return { method };
}

function notification<P>(method: string): NotificationSpec<P> {
  return { method };
}

// ---------- settings (the server's view of `repopot.*`) ----------

export type { Device, DecoderSetting, SettingPolicy } from '../vocab';
export type { DistillSettings } from '../distill/distiller';

/** JSON-RPC error codes of RepoPot's requests (server/src/vocab.ts). */
export const errorCodes = ERROR_CODES;

export interface SteeringSettings {
  /** Apply KV-cache steering vectors (server/src/steer) to answers when the model has them. */
  enabled: boolean;
  /** c_v; null = the strength tuned into the vectors file (else 1). */
  strength: number | null;
  /** Vectors file; empty = steering.safetensors in the model folder. */
  vectorsPath: string;
}

export interface ServerSettings {
  /** Absolute model folder; empty = the extension's own model. */
  modelPath: string;
  /** Label shown in status (e.g. "repopot-tiny-code"). */
  modelLabel: string;
  device: Device;
  /**
   * `repopot.cache.*`: budget (tokens the distilled cache may keep), chunkSize (tokens per ingest chunk, the unit
   * between which ingestion yields), policy, fourier (the Fourier tier: budget then counts the bytes of that many
   * plain slots; absent = off) and memory (the pot's size in MiB instead of budget; absent or 0 = off). Passed to the
   * Distiller unchanged, which caps them by the model.
   */
  cache: DistillSettings;
  /**
   * `repopot.cache.kvDtype`: how the engine's KV cache stores K/V (fp16: half the bytes). An engine option, not a
   * Distiller one, so it sits beside `device`; the Fourier tier needs fp32 (with fp16 the pot is the plain one).
   */
  kvDtype: KvDtype;
  include: string[];
  exclude: string[];
  hover: { enabled: boolean; deadlineMs: number };
  steering: SteeringSettings;
  decoder: DecoderSetting;
  /** 0 = greedy; above 0 samples with this temperature (top-p 0.9). */
  temperature: number;
  /** Max tokens per answer. */
  maxAnswerTokens: number;
  /** `repopot.answer.reread`: tokens of the lines naming what a question asks about put back before answering; 0 = off. */
  rereadTokens: number;
  /** `repopot.answer.snapPaths`: an answer that starts writing a workspace path finishes it as that path. */
  snapPaths: boolean;
  /** `repopot.answer.snapValues`: a value (parameter) question is answered with one whole value (list) the workspace has. */
  snapValues: boolean;
  /** Where the server may persist its cache; empty = no persistence. */
  cacheDir: string;
}

export const defaultSettings: ServerSettings = {
  modelPath: '',
  modelLabel: '',
  device: DEFAULT_DEVICE,
  kvDtype: DEFAULT_KV_DTYPE,
  cache: { budget: DEFAULT_BUDGET, chunkSize: DEFAULT_CHUNK_TOKENS, policy: DEFAULT_POLICY },
  /** Empty: every file (minus .gitignore'd, vendored, generated and binary files). */
  include: [],
  exclude: [],
  hover: { enabled: true, deadlineMs: 2000 },
  steering: { enabled: true, strength: null, vectorsPath: '' },
  decoder: DEFAULT_DECODER,
  temperature: 0,
  maxAnswerTokens: DEFAULT_ANSWER_TOKENS,
  rereadTokens: DEFAULT_REREAD_TOKENS,
  snapPaths: DEFAULT_SNAP_PATHS,
  snapValues: DEFAULT_SNAP_VALUES,
  cacheDir: '',
};

/** initializationOptions sent by the client. Every field optional: the server fills in defaultSettings. */
export interface InitializationOptions {
  settings?: Partial<ServerSettings>;
}

/** Payload of workspace/didChangeConfiguration from RepoPot's client. */
export interface ConfigurationChange {
  repopot?: Partial<ServerSettings>;
}

// ---------- ask ----------

export interface Source {
  uri: string;
  /** Workspace-relative path, for display. */
  path: string;
  /** Zero-based line range the answer drew on (whole file until attention-ranked). */
  range: Range;
  /** Share of the context this source had (0..1), for ordering. */
  weight: number;
}

export interface AskSelection {
  uri: string;
  range: Range;
  text: string;
}

export interface AskParams extends PartialResultParams {
  question: string;
  /** Ask about a selection (inline answers). */
  selection?: AskSelection;
  /** Per-question steering switch (the chat's toggle); absent = the repopot.steering.enabled setting. */
  steer?: boolean;
}

export type StopReason = 'eos' | 'stop' | 'length' | 'cancelled' | 'deadline';

export interface AskResult {
  text: string;
  /** When a check confirmed the answer, its confirming line comes first. */
  sources: Source[];
  stopReason: StopReason;
  tokens: number;
  tokensPerSecond: number;
  /** The answer checked against the repository (server/src/check): every answer carries one. */
  check: AnswerCheck;
  /** A plain note to show under the answer (a free-form question to a model trained for lookups). */
  note?: string;
}

/** Streamed through $/progress with AskParams.partialResultToken: tokens first, then sources once. */
export type AskProgress = { kind: 'token'; text: string } | { kind: 'sources'; sources: Source[] };

export const askRequest = request<AskParams, AskResult>('repopot/ask');

// ---------- question forms (what the model answers, with symbols to complete) ----------

export interface QuestionFormsParams {
  /** Only symbols starting with this (case-insensitive); empty: all, up to `limit`. */
  prefix?: string;
  limit?: number;
}

export interface QuestionFormsResult {
  forms: QuestionForm[];
  /** Top-level definitions of the streamed files (tree-sitter outlines), for completing the symbol. */
  symbols: WorkspaceSymbol[];
  /** True for RepoPot's own model: trained for these lookups, weak at free-form questions. */
  trainedForLookups: boolean;
}

export const questionFormsRequest = request<QuestionFormsParams, QuestionFormsResult>('repopot/questionForms');

// ---------- status ----------

export type ServerState = 'starting' | 'idle' | 'ingesting' | 'answering' | 'paused' | 'error';

export interface StatusParams {
  /** Increases by one with every notification, so clients can detect reordering. */
  seq: number;
  state: ServerState;
  message?: string;
  filesDone: number;
  filesTotal: number;
  filesSkipped: number;
  tokensSeen: number;
  tokensKept: number;
  budget: number;
  /** tokensSeen / tokensKept (1 when nothing was dropped). */
  compression: number;
  cacheBytes: number;
  /** The pot's size limit in bytes when `repopot.cache.memory` sets it (after the model's caps); 0: sized by `budget` slots. */
  memoryBytes: number;
  tokensPerSecond: number;
  model: string;
  device: string;
  /** True when the pot was restored from the persisted cache at start. */
  restored: boolean;
}

export const statusNotification = notification<StatusParams>('repopot/status');
/** Asks for the current status (also sent as a notification whenever it changes). */
export const statusRequest = request<void, StatusParams>('repopot/getStatus');

// ---------- control ----------

export const pauseRequest = request<void, StatusParams>('repopot/pause');
export const resumeRequest = request<void, StatusParams>('repopot/resume');
export const rebuildRequest = request<void, StatusParams>('repopot/rebuild');

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface IngestReport {
  root: string;
  ingested: string[];
  skipped: SkippedFile[];
}

export const ingestReportRequest = request<void, IngestReport>('repopot/ingestReport');

// ---------- hover ----------

/** The command a hover links to when its explanation was cut by the deadline. */
export const continueInChatCommand = 'repopot.continueInChat';

export interface ContinueInChatArgs {
  question: string;
  uri: string;
  line: number;
}
