// The server-wide bound on request bytes held in flight: received on a call's stream and kept until
// the call is answered or ends otherwise (its buffers, then its decoded request). The stream cap and
// the 1 MiB message limit alone let one connection hold ~1 GB, and connections are many; this keeps
// the total under one budget. A call whose next chunk would pass it is refused, but first the calls
// holding more than a large request's bytes give way, so a flood of big partial messages cannot keep
// ordinary checks (a few KiB) from being answered. Each call also counts CALL_BYTES from its start, so
// streams that send headers and nothing more are bounded too.

/** A call as the budget sees it: the bytes it holds (kept by the budget) and how it is ended to free them. */
export interface BudgetHolder {
  heldBytes: number;
  /** Ends the call RESOURCE_EXHAUSTED; it calls release() as every ending of a call does. */
  exhaust(): void;
}

/**
 * 64 MiB: 16,000 checks of 4 KiB in flight, or a thousand at Envoy's 60 KiB header limit, far past
 * what one process answers at once, and small beside a container's memory (the decoded requests and
 * node:http2's own buffers come on top).
 */
export const MAX_BUFFERED_REQUEST_BYTES = 64 * 1024 * 1024;

/**
 * What a call counts before its first byte: its own objects (node:http2's stream and its native
 * state, the call, the HTTP/2 headers), which a headers-only stream holds with no message bytes.
 * Measured: 3,960 headers-only streams cost both ends together ~3.3 KB of heap and ~18 KB of RSS each
 * in one process. With the default budget at most 8,192 calls are in flight, far more than one
 * process answers at once (a cached check takes tens of microseconds).
 */
export const CALL_BYTES = 8 * 1024;

/** Past Envoy's default 60 KiB request-header limit: no ordinary check holds this much. */
export const LARGE_REQUEST_BYTES = 64 * 1024;

export class RequestByteBudget {
  /** Bytes held by the calls in flight; 0 once every call has ended. */
  bytes = 0;
  readonly limit: number;
  /** The calls holding more than LARGE_REQUEST_BYTES, oldest first: the ones to end when room is short. */
  readonly #large = new Set<BudgetHolder>();

  constructor(limit = MAX_BUFFERED_REQUEST_BYTES) {
    this.limit = limit;
  }

  /** Counts n more bytes against holder; false (nothing counted) when they do not fit. An add per chunk. */
  take(holder: BudgetHolder, n: number): boolean {
    if (this.bytes + n > this.limit && !this.#makeRoom(holder, n)) return false;
    this.bytes += n;
    const held = (holder.heldBytes += n);
    if (held > LARGE_REQUEST_BYTES && held - n <= LARGE_REQUEST_BYTES) this.#large.add(holder);
    return true;
  }

  /** Gives back everything holder holds; a second call finds nothing left and changes nothing. */
  release(holder: BudgetHolder): void {
    const held = holder.heldBytes;
    if (held === 0) return;
    holder.heldBytes = 0;
    this.bytes -= held;
    if (held > LARGE_REQUEST_BYTES) this.#large.delete(holder);
  }

  /** Ends the large calls, oldest first, until n fits; never for a holder that would itself be large. */
  #makeRoom(holder: BudgetHolder, n: number): boolean {
    if (holder.heldBytes + n > LARGE_REQUEST_BYTES) return false;
    // exhaust() releases, which deletes the entry being visited: safe in a Set's iteration.
    for (const large of this.#large) {
      large.exhaust();
      if (this.bytes + n <= this.limit) return true;
    }
    return false;
  }
}
