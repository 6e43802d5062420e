// The grpc-timeout deadlines of the calls in flight, kept by one timer per server instead of a
// setTimeout per call (a Timeout object, a timer-list insertion and its removal on every check). A call
// joins with the time its deadline passes and leaves when it finishes; while any call is in flight a
// sweep every RESOLUTION_MS expires those whose time has come. A deadline never fires early, and at
// most RESOLUTION_MS late: the client keeps its own deadline exactly, so the server's expiry only
// frees a stream the client has already given up on.

/** A call as the sweeper sees it: when its deadline passes (performance.now() time) and what to do then. */
export interface DeadlineCall {
  readonly deadlineAt: number;
  expire(): void;
}

export const RESOLUTION_MS = 10;

export class DeadlineSweeper {
  readonly #calls = new Set<DeadlineCall>();
  readonly #timer: NodeJS.Timeout;
  /** Whether the timer is pending; its first run finds no call and leaves it idle. */
  #armed = true;

  /** How long a call without grpc-timeout may take to send its request (GrpcCall's REQUEST_WAIT_MS). */
  readonly requestWaitMs: number;

  constructor(requestWaitMs = 30_000) {
    this.requestWaitMs = requestWaitMs;
    // One Timeout for the server's life, re-armed with refresh() (which also revives a timer that has
    // fired, but not one cleared); unref'd: a deadline alone keeps no process up.
    this.#timer = setTimeout(() => this.#sweep(), RESOLUTION_MS);
    this.#timer.unref();
  }

  /** Whether a sweep is pending: true while calls are in flight, false once idle. */
  get armed(): boolean {
    return this.#armed;
  }

  add(call: DeadlineCall): void {
    this.#calls.add(call);
    if (!this.#armed) {
      this.#armed = true;
      this.#timer.refresh();
    }
  }

  delete(call: DeadlineCall): void {
    this.#calls.delete(call);
  }

  #sweep(): void {
    const now = performance.now();
    // Deleting the entry being visited is safe in a Set's iteration; expire() may call delete() again.
    for (const call of this.#calls) {
      if (call.deadlineAt <= now) {
        this.#calls.delete(call);
        call.expire();
      }
    }
    // Stays armed only while calls are in flight: an idle server has no timer running.
    this.#armed = this.#calls.size > 0;
    if (this.#armed) this.#timer.refresh();
  }
}
