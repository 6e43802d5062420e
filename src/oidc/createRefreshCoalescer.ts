// Single-flight for refresh-token grants: concurrent refreshes of one refresh token share one call,
// and a final outcome (new tokens, or a definitive refusal) is remembered briefly so requests still
// carrying the pre-rotation cookie get the same answer instead of reusing a rotated token. Keyed by
// SHA-256 of the token (never the token), bounded by entries and by age.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";

export interface RefreshCoalescerOptions {
  readonly maxEntries: number;
  readonly rememberMs: number;
  /** Drives the memory's expiry. */
  readonly clock: Clock;
  /**
   * Whether a failure is final for this refresh token (remember it) or may be retried later
   * (forget it as soon as the waiting callers have it, e.g. the IdP was unreachable).
   */
  readonly isFinal: (err: unknown) => boolean;
}

export interface RefreshCoalescer<T> {
  run(refreshToken: string, work: () => Promise<T>): Promise<T>;
  size(): number;
}

export function createRefreshCoalescer<T>(options: RefreshCoalescerOptions): RefreshCoalescer<T> {
  const outcomes = new LRUCache<string, Promise<T>>({
    max: options.maxEntries,
    ttl: options.rememberMs,
    // lru-cache reads its clock from `perf.now()`; ours is injectable for tests. It would also cache
    // that reading for ttlResolution ms of real time; Date.now() is cheap enough to read each time.
    perf: { now: () => options.clock.now() },
    ttlResolution: 0,
  });
  return {
    run(refreshToken, work) {
      const key = createHash("sha256").update(refreshToken).digest("base64url");
      const known = outcomes.get(key);
      if (known !== undefined) return known;
      const flight = work();
      outcomes.set(key, flight);
      // The memory counts from the answer, not the request; only this flight's own entry is touched
      // (a later flight for the same token may have replaced it).
      flight.then(
        () => {
          if (outcomes.peek(key) === flight) outcomes.set(key, flight);
        },
        (err: unknown) => {
          if (outcomes.peek(key) !== flight) return;
          if (options.isFinal(err)) outcomes.set(key, flight);
          else outcomes.delete(key);
        },
      );
      return flight;
    },
    size: () => outcomes.size,
  };
}
