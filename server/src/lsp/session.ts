// One workspace session: the model and its pot, background ingestion and the status it reports.
// Interactive work (ask, hover) takes the engine before ingestion, which yields between chunks.
import { describeError } from '../model/errors';
import { NothingIngestedError } from '../distill/distiller';
import { throwIfAborted } from '../util/abort';
import type { AnswerRequest, DistilledPot, ServerAnswer } from './answerer';
import { defaultSettings, type IngestReport, type QuestionFormsParams, type QuestionFormsResult, type ServerSettings, type ServerState, type SkippedFile, type StatusParams } from './protocol';
import { EngineLock } from './scheduler';
import { DEFAULT_MEMORY_MIB } from '../vocab';
import { StatusBoard } from './status';

export interface SessionHooks {
  sendStatus(s: StatusParams): void;
  log(message: string): void;
  loadPot(settings: ServerSettings, root: string): Promise<DistilledPot>;
  /** Tells the user something they asked for was changed (e.g. a budget capped by the model's context). */
  notify?(message: string): void;
}

export class SessionError extends Error {
  override readonly name = 'SessionError';
}

/** How long after the last save the workspace is re-ingested (changed files only). */
const REFRESH_DEBOUNCE_MS = 1500;

export class Session {
  readonly status: StatusBoard;
  private readonly lock = new EngineLock();
  private pot: DistilledPot | undefined;
  private files: string[] = [];
  private skipped: SkippedFile[] = [];
  private ingestRun: { abort: AbortController; done: Promise<void> } | undefined;
  private refreshWanted = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private answering = 0;
  private failed: string | undefined;
  private disposed = false;

  constructor(
    readonly root: string,
    private settings: ServerSettings,
    private readonly hooks: SessionHooks,
  ) {
    this.status = new StatusBoard(hooks.sendStatus);
  }

  get currentSettings(): ServerSettings {
    return this.settings;
  }

  /** Settings that take effect without a restart (the client restarts the server for the rest). */
  updateLiveSettings(s: ServerSettings): void {
    this.settings = { ...this.settings, hover: s.hover, steering: { ...s.steering, vectorsPath: this.settings.steering.vectorsPath }, temperature: s.temperature, maxAnswerTokens: s.maxAnswerTokens, rereadTokens: s.rereadTokens, snapPaths: s.snapPaths, snapValues: s.snapValues };
  }

  /** Loads the model and starts background ingestion (which restores the persisted pot). Never throws. */
  async start(): Promise<void> {
    this.status.update({ state: 'starting', budget: this.settings.cache.budget, model: this.settings.modelLabel, message: 'loading model' }, true);
    try {
      this.pot = await this.hooks.loadPot(this.settings, this.root);
    } catch (err) {
      this.fail(`Could not load the model: ${describeError(err)}`);
      return;
    }
    if (this.disposed) return;
    this.status.update({ model: this.pot.label, device: this.pot.device, ...this.pot.stats() });
    for (const notice of this.pot.notices) this.hooks.log(`repopot.cache: ${notice}`);
    // The default budget (4096) is capped for small models as a matter of course: the log says so. A value the
    // user chose is worth a message.
    const chosen =
      (Object.keys(defaultSettings.cache) as (keyof ServerSettings['cache'])[]).some((k) => this.settings.cache[k] !== defaultSettings.cache[k]) ||
      (this.settings.cache.memory ?? DEFAULT_MEMORY_MIB) !== DEFAULT_MEMORY_MIB;
    if (chosen && this.pot.notices.length > 0) this.hooks.notify?.(`RepoPot (repopot.cache): ${this.pot.notices.join('; ')}.`);
    const memory = this.pot.cache.memory ? ` (memory ${this.pot.cache.memory} MiB)` : '';
    this.hooks.log(`model ${this.pot.label} on ${this.pot.device}; budget ${this.pot.cache.budget} tokens${memory}, chunks of ${this.pot.cache.chunkSize} (${this.pot.cache.policy})`);
    this.startIngest();
  }

  private potStats(): Pick<StatusParams, 'tokensSeen' | 'tokensKept' | 'budget' | 'cacheBytes' | 'memoryBytes'> {
    return this.pot?.stats() ?? { tokensSeen: 0, tokensKept: 0, budget: this.settings.cache.budget, cacheBytes: 0, memoryBytes: 0 };
  }

  private fail(message: string): void {
    this.failed = message;
    this.hooks.log(message);
    this.status.update({ state: 'error', message }, true);
  }

  /** The state implied by what is going on now. */
  private refreshState(): void {
    let state: ServerState;
    if (this.failed) state = 'error';
    else if (this.answering > 0) state = 'answering';
    else if (this.paused) state = 'paused';
    else if (this.ingestRun) state = 'ingesting';
    else state = 'idle';
    this.status.update({ state, ...this.potStats() });
  }

  // ---------- ingestion ----------

  private startIngest(): void {
    if (!this.pot || this.disposed || this.failed) return;
    const abort = new AbortController();
    const run = { abort, done: Promise.resolve() };
    run.done = this.ingest(abort.signal)
      .catch((err: unknown) => {
        if (!abort.signal.aborted) this.hooks.log(`ingestion failed: ${describeError(err)}`);
      })
      .finally(() => {
        if (this.ingestRun === run) this.ingestRun = undefined;
        this.refreshState();
        if (this.refreshWanted && !abort.signal.aborted) this.scheduleRefresh();
      });
    this.ingestRun = run;
    this.refreshState();
  }

  private async ingest(signal: AbortSignal): Promise<void> {
    const pot = this.pot!;
    this.refreshWanted = false;
    let release: (() => void) | undefined;
    try {
      const outcome = await pot.ingest({
        include: this.settings.include,
        exclude: this.settings.exclude,
        signal,
        // Holds the engine for one chunk at a time; waiting interactive requests and pauses go in between.
        betweenChunks: async () => {
          release?.();
          release = undefined;
          await new Promise<void>((resolve) => setImmediate(resolve));
          await this.waitWhilePaused(signal);
          release = await this.lock.acquire('background', signal);
        },
        onProgress: (p) => this.status.update({ ...p }),
      });
      this.files = outcome.files;
      this.skipped = outcome.skipped;
      for (const s of outcome.skipped) if (!s.reason.startsWith('ignored')) this.hooks.log(`skipped ${s.path}: ${s.reason}`);
      this.status.update({
        filesDone: outcome.files.length,
        filesTotal: outcome.files.length,
        filesSkipped: outcome.skipped.length,
        restored: outcome.source !== 'fresh',
        ...(outcome.source === 'fresh' ? { tokensPerSecond: outcome.tokensPerSecond } : {}),
        ...pot.stats(),
      });
      this.hooks.log(`ingest done (${outcome.source}): ${outcome.files.length} files, ${outcome.skipped.length} skipped`);
    } finally {
      release?.();
    }
  }

  private async waitWhilePaused(signal: AbortSignal): Promise<void> {
    while (this.paused && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.resumeWaiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    throwIfAborted(signal);
  }

  /** A saved file: re-ingest (only changed files are streamed again), debounced and after any running ingest. */
  fileSaved(): void {
    this.refreshWanted = true;
    if (!this.ingestRun) this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (!this.ingestRun && this.refreshWanted) this.startIngest();
    }, REFRESH_DEBOUNCE_MS);
  }

  pause(): StatusParams {
    if (!this.paused) {
      this.paused = true;
      this.refreshState();
    }
    return this.status.snapshot();
  }

  resume(): StatusParams {
    if (this.paused) {
      this.paused = false;
      for (const w of this.resumeWaiters.splice(0)) w();
      this.refreshState();
    }
    return this.status.snapshot();
  }

  /** Drops the persisted pot and ingests from scratch. */
  async rebuild(): Promise<StatusParams> {
    if (this.failed || !this.pot) throw new SessionError(this.failed ?? 'the model is not loaded yet');
    const run = this.ingestRun;
    if (run) {
      run.abort.abort();
      await run.done;
    }
    this.pot.forgetPersisted();
    this.files = [];
    this.skipped = [];
    this.status.update({ restored: false, filesDone: 0, filesTotal: 0, filesSkipped: 0 });
    this.startIngest();
    return this.status.snapshot();
  }

  report(): IngestReport {
    return { root: this.root, ingested: [...this.files], skipped: this.skipped };
  }

  // ---------- answers ----------

  /** Answers with the engine at interactive priority; `signal` cancels waiting and generating. */
  async answer(req: Omit<AnswerRequest, 'steering' | 'maxTokens' | 'temperature' | 'rereadTokens' | 'snapPaths' | 'snapValues'> & { maxTokens?: number; steer?: boolean }): Promise<ServerAnswer> {
    if (this.failed) throw new SessionError(this.failed);
    const pot = this.pot;
    if (!pot) throw new SessionError('RepoPot is still loading its model');
    const release = await this.lock.acquire('interactive', req.signal);
    this.answering++;
    this.refreshState();
    try {
      const answer = await pot.answer({
        ...req,
        steering: req.steer === undefined ? this.settings.steering : { ...this.settings.steering, enabled: req.steer },
        maxTokens: req.maxTokens ?? this.settings.maxAnswerTokens,
        temperature: this.settings.temperature,
        rereadTokens: this.settings.rereadTokens,
        snapPaths: this.settings.snapPaths,
        snapValues: this.settings.snapValues,
      });
      if (answer.tokensPerSecond > 0 && answer.tokens > 1) this.status.update({ tokensPerSecond: answer.tokensPerSecond });
      return answer;
    } catch (err) {
      if (err instanceof NothingIngestedError) throw new SessionError('RepoPot has not read the workspace yet; ask again in a moment');
      throw err;
    } finally {
      this.answering--;
      release();
      this.refreshState();
    }
  }

  /** The question forms the model answers and the workspace symbols to complete them (no engine needed). */
  async questionForms(params: QuestionFormsParams, signal?: AbortSignal): Promise<QuestionFormsResult> {
    if (this.failed) throw new SessionError(this.failed);
    const pot = this.pot;
    if (!pot) throw new SessionError('RepoPot is still loading its model');
    return pot.questionForms(params, signal);
  }

  /** Sources the pot would cite now (for answers cut before finishing). */
  currentSources(): ServerAnswer['sources'] {
    return this.pot?.currentSources() ?? [];
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.refreshTimer);
    const run = this.ingestRun;
    if (run) {
      run.abort.abort();
      await run.done;
    }
    this.status.dispose();
    await this.pot?.dispose();
  }
}
