// A token bucket: at most `perSecond` takes in any second on average, with bursts up to `perSecond`.
// Bounded by construction (two numbers), read from the injected clock so tests move time by hand.
import type { Clock } from "../clock/Clock.ts";

export interface TokenBucket {
  /** Takes a token when one is left; false when the bucket is empty (the caller goes without). */
  take(): boolean;
}

export function createTokenBucket(perSecond: number, clock: Clock): TokenBucket {
  let tokens = perSecond;
  let last = clock.now();
  return {
    take() {
      const now = clock.now();
      // A clock that steps back refills nothing rather than draining the bucket.
      tokens = Math.min(perSecond, tokens + (Math.max(0, now - last) / 1000) * perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
