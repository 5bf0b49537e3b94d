// The server's status, pushed to the client as `repopot/status` notifications.
// State changes are sent at once; counter updates during ingestion are coalesced (at most one per interval).
import type { ServerState, StatusParams } from './protocol';

export type StatusFields = Omit<StatusParams, 'seq'>;

export class StatusBoard {
  private seq = 0;
  private current: StatusFields = {
    state: 'starting',
    filesDone: 0,
    filesTotal: 0,
    filesSkipped: 0,
    tokensSeen: 0,
    tokensKept: 0,
    budget: 0,
    compression: 1,
    cacheBytes: 0,
    memoryBytes: 0,
    tokensPerSecond: 0,
    model: '',
    device: '',
    restored: false,
  };
  private timer: NodeJS.Timeout | undefined;
  private lastSent: StatusParams | undefined;

  constructor(
    private readonly send: (s: StatusParams) => void,
    private readonly intervalMs = 150,
  ) {}

  get state(): ServerState {
    return this.current.state;
  }

  snapshot(): StatusParams {
    return this.lastSent ?? { seq: this.seq, ...this.current };
  }

  /** Updates fields; a change of state (or `now`) is sent immediately, anything else coalesced. */
  update(fields: Partial<StatusFields>, now = false): void {
    const stateChanged = fields.state !== undefined && fields.state !== this.current.state;
    this.current = { ...this.current, ...fields };
    if (stateChanged && fields.state !== 'error' && fields.message === undefined) this.current.message = undefined;
    if (this.current.tokensKept > 0) this.current.compression = this.current.tokensSeen / this.current.tokensKept;
    else this.current.compression = 1;
    if (stateChanged || now) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSent = { seq: ++this.seq, ...this.current };
    this.send(this.lastSent);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
