// One engine, many callers: interactive requests (ask, hover) always go before background ingestion,
// which takes the engine one chunk at a time and so yields between chunks.

import { abortError, throwIfAborted } from '../util/abort';

export type Priority = 'interactive' | 'background';

export class EngineLock {
  private busy = false;
  private readonly waiting: Record<Priority, (() => void)[]> = { interactive: [], background: [] };

  /** Waits for the engine; rejects with the signal's reason if it is aborted first. */
  async acquire(priority: Priority, signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    if (!this.busy) {
      this.busy = true;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const queue = this.waiting[priority];
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        reject(abortError(signal!));
      };
      queue.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.interactive.shift() ?? this.waiting.background.shift();
      if (next) next();
      else this.busy = false;
    };
  }
}
