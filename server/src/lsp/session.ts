// One workspace session: the model, the pot, background ingestion and the status it reports.
// Interactive work (ask, hover) takes the engine before ingestion, which yields between chunks.
import { createHash } from 'node:crypto';
import { describeError } from '../model/errors.js';
import { WindowPot, type Answer, type AnswerRequest, type Pot } from './answerer.js';
import { readTextFile, walkRepository, type Candidate } from './files.js';
import type { ModelHost } from './model_host.js';
import { clearState, loadState, saveState, type FileStamp } from './persist.js';
import type { IngestReport, ServerSettings, ServerState, SkippedFile, StatusParams } from './protocol.js';
import { EngineLock } from './scheduler.js';
import { StatusBoard } from './status.js';

export interface SessionHooks {
  sendStatus(s: StatusParams): void;
  log(message: string): void;
  loadModel(settings: ServerSettings): Promise<ModelHost>;
}

export class SessionError extends Error {
  override readonly name = 'SessionError';
}

export class Session {
  readonly status: StatusBoard;
  private readonly lock = new EngineLock();
  private model: ModelHost | undefined;
  private pot: Pot | undefined;
  private files = new Map<string, FileStamp>();
  private skipped: SkippedFile[] = [];
  private ingestRun: { abort: AbortController; done: Promise<void> } | undefined;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private answering = 0;
  private failed: string | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
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
    this.settings = { ...this.settings, hover: s.hover, steering: s.steering, decoder: s.decoder, maxAnswerTokens: s.maxAnswerTokens };
  }

  /** Loads the model, restores the persisted pot and starts background ingestion. Never throws. */
  async start(): Promise<void> {
    this.status.update({ state: 'starting', budget: this.settings.cacheBudget, model: this.settings.modelLabel, message: 'loading model' }, true);
    try {
      this.model = await this.hooks.loadModel(this.settings);
    } catch (err) {
      this.fail(`Could not load the model: ${describeError(err)}`);
      return;
    }
    this.pot = new WindowPot(this.model, this.settings.cacheBudget, this.settings.chunkSize, this.settings.maxAnswerTokens);
    let restored = false;
    const saved = await loadState(this.settings.cacheDir);
    if (saved && saved.root === this.root && saved.settingsKey === this.settingsKey() && this.pot.restore(saved.pot)) {
      this.files = new Map(Object.entries(saved.files));
      this.skipped = saved.skipped;
      restored = true;
      this.hooks.log(`restored ${this.files.size} files from the persisted cache`);
    }
    this.status.update({ model: this.model.label, device: this.model.device, restored, ...this.potStats(), filesDone: this.files.size, filesTotal: this.files.size, filesSkipped: this.skipped.length });
    this.startIngest();
  }

  private settingsKey(): string {
    const s = this.settings;
    return createHash('sha256')
      .update(JSON.stringify([s.modelPath, s.cacheBudget, s.chunkSize, s.policy, s.include, s.exclude, s.maxFileBytes]))
      .digest('hex')
      .slice(0, 16);
  }

  private potStats(): Pick<StatusParams, 'tokensSeen' | 'tokensKept' | 'budget' | 'cacheBytes'> {
    return this.pot?.stats() ?? { tokensSeen: 0, tokensKept: 0, budget: this.settings.cacheBudget, cacheBytes: 0 };
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
    if (!this.pot || this.disposed) return;
    const abort = new AbortController();
    const run = { abort, done: Promise.resolve() };
    run.done = this.ingest(abort.signal)
      .catch((err) => {
        if (!abort.signal.aborted) this.hooks.log(`ingestion failed: ${describeError(err)}`);
      })
      .finally(() => {
        if (this.ingestRun === run) this.ingestRun = undefined;
        this.refreshState();
      });
    this.ingestRun = run;
    this.refreshState();
  }

  private async ingest(signal: AbortSignal): Promise<void> {
    const pot = this.pot!;
    const candidates: Candidate[] = [];
    const skipped: SkippedFile[] = [];
    for await (const e of walkRepository(this.root, { include: this.settings.include, exclude: this.settings.exclude, signal })) {
      if (e.kind === 'candidate') candidates.push(e.candidate);
      else skipped.push(e.skipped);
    }
    this.hooks.log(`ingest: ${candidates.length} candidate files, ${skipped.length} skipped while walking`);
    // Files that disappeared since the last run leave the pot.
    const present = new Set(candidates.map((c) => c.relPath));
    for (const rel of [...this.files.keys()]) {
      if (!present.has(rel)) {
        this.files.delete(rel);
        await this.lock.run('background', async () => pot.removeFile(rel), signal);
      }
    }
    let done = 0;
    let changed = false;
    this.skipped = skipped;
    this.status.update({ filesDone: 0, filesTotal: candidates.length, filesSkipped: skipped.length });
    const between = (): void => {
      this.status.update(this.potStats());
      signal.throwIfAborted();
    };
    for (const c of candidates) {
      await this.waitWhilePaused(signal);
      signal.throwIfAborted();
      const read = await readTextFile(c, this.settings.maxFileBytes);
      if ('reason' in read) {
        this.skipped.push({ path: c.relPath, reason: read.reason });
        this.hooks.log(`skipped ${c.relPath}: ${read.reason}`);
        if (this.files.delete(c.relPath)) await this.lock.run('background', async () => pot.removeFile(c.relPath), signal);
      } else {
        const stamp = this.files.get(c.relPath);
        if (!stamp || stamp.mtimeMs !== read.file.mtimeMs || stamp.size !== read.file.size) {
          // Holds the engine per chunk: `between` gives it to waiting interactive requests.
          await this.ingestUnderLock(async (yieldEngine) => {
            await pot.ingestFile(read.file, async () => {
              between();
              await yieldEngine();
            });
          }, signal);
          this.files.set(c.relPath, { mtimeMs: read.file.mtimeMs, size: read.file.size });
          changed = true;
        }
      }
      done++;
      this.status.update({ filesDone: done, filesSkipped: this.skipped.length, ...this.potStats() });
    }
    if (changed || !(await loadState(this.settings.cacheDir))) await this.save();
    this.hooks.log(`ingest done: ${this.files.size} files, ${this.skipped.length} skipped`);
  }

  /**
   * Runs `fn` holding the engine at background priority; `yieldEngine` (called between chunks) hands it
   * to waiting interactive requests and holds still while paused, without the engine.
   */
  private async ingestUnderLock(fn: (yieldEngine: () => Promise<void>) => Promise<void>, signal: AbortSignal): Promise<void> {
    let release = await this.lock.acquire('background', signal);
    try {
      await fn(async () => {
        // Let pending messages (requests, cancellations) be read before deciding.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.lock.interactiveDemand > 0 || this.paused) {
          release();
          await this.waitWhilePaused(signal);
          release = await this.lock.acquire('background', signal);
        }
      });
    } finally {
      release();
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
  }

  private async save(): Promise<void> {
    if (!this.pot || !this.settings.cacheDir) return;
    try {
      await saveState(this.settings.cacheDir, {
        version: 1,
        root: this.root,
        settingsKey: this.settingsKey(),
        files: Object.fromEntries(this.files),
        skipped: this.skipped,
        pot: this.pot.snapshot(),
      });
    } catch (err) {
      this.hooks.log(`could not persist the cache: ${describeError(err)}`);
    }
  }

  /** Re-ingests one saved file (debounced persistence). */
  async fileChanged(absPath: string, relPath: string): Promise<void> {
    if (!this.pot || this.ingestRun) return;
    const pot = this.pot;
    const read = await readTextFile({ absPath, relPath }, this.settings.maxFileBytes);
    if ('reason' in read) return;
    const abort = new AbortController();
    await this.ingestUnderLock((yieldEngine) => pot.ingestFile(read.file, yieldEngine), abort.signal);
    this.files.set(relPath, { mtimeMs: read.file.mtimeMs, size: read.file.size });
    this.refreshState();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save(), 2000);
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

  /** Drops the pot and the persisted cache, then ingests from scratch. */
  async rebuild(): Promise<StatusParams> {
    if (this.failed || !this.pot) throw new SessionError(this.failed ?? 'the model is not loaded yet');
    const run = this.ingestRun;
    if (run) {
      run.abort.abort();
      await run.done;
    }
    await this.lock.run('interactive', async () => {
      this.pot!.reset();
      this.files.clear();
      this.skipped = [];
    });
    await clearState(this.settings.cacheDir);
    this.status.update({ restored: false, filesDone: 0, filesTotal: 0, filesSkipped: 0, ...this.potStats() });
    this.startIngest();
    return this.status.snapshot();
  }

  report(): IngestReport {
    return { root: this.root, ingested: [...this.files.keys()].sort(), skipped: this.skipped };
  }

  // ---------- answers ----------

  private ready(): { model: ModelHost; pot: Pot } {
    if (this.failed) throw new SessionError(this.failed);
    if (!this.model || !this.pot) throw new SessionError('RepoPot is still loading its model');
    return { model: this.model, pot: this.pot };
  }

  /** Answers with the engine at interactive priority; `signal` cancels waiting and generating. */
  async answer(req: Omit<AnswerRequest, 'steering' | 'maxTokens' | 'greedy'> & { maxTokens?: number }): Promise<Answer> {
    const { pot } = this.ready();
    const release = await this.lock.acquire('interactive', req.signal);
    this.answering++;
    this.refreshState();
    try {
      const answer = await pot.answer({
        ...req,
        steering: this.settings.steering,
        maxTokens: req.maxTokens ?? this.settings.maxAnswerTokens,
        greedy: this.settings.decoder === 'greedy',
      });
      if (answer.tokensPerSecond > 0) this.status.update({ tokensPerSecond: answer.tokensPerSecond });
      return answer;
    } finally {
      this.answering--;
      release();
      this.refreshState();
    }
  }

  /** Sources the pot would cite now (for answers cut before finishing). */
  currentSources(): Answer['sources'] {
    return this.pot?.currentSources() ?? [];
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.saveTimer);
    const run = this.ingestRun;
    if (run) {
      run.abort.abort();
      await run.done;
    }
    this.status.dispose();
    await this.model?.dispose();
  }
}
