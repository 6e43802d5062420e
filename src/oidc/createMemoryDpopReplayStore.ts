// The DPoP replay store of one replica: proof keys in a Map in insertion order. With one TTL for
// all (one proof window) the oldest entry is the next to expire, so expired ones are dropped from the
// front; providers with different windows break that order, so a full store is swept whole before it
// refuses. Bounded: when the store is full of unexpired proofs a new proof cannot be proved fresh
// and is refused (the store answers "unavailable"), never admitted by forgetting an older one.
import type { Clock } from "../clock/Clock.ts";
import type { DpopReplayStore } from "./DpopReplayStore.ts";

export interface MemoryDpopReplayStore extends DpopReplayStore {
  /** Entries held (expired ones may linger until the next claim). */
  size(): number;
}

export function createMemoryDpopReplayStore(options: { maxEntries: number; clock: Clock }): MemoryDpopReplayStore {
  const { maxEntries, clock } = options;
  /** key → the epoch ms it expires at; insertion order is expiry order while every claim uses one TTL. */
  const seen = new Map<string, number>();
  const purge = (now: number) => {
    for (const [key, expiresAt] of seen) {
      if (expiresAt > now) return;
      seen.delete(key);
    }
  };
  /** When the next entry anywhere in the store expires: a full store is not swept again before then. */
  let nextExpiry = 0;
  /** Every expired entry, wherever it stands; only when full and something may have expired. */
  const sweep = (now: number) => {
    if (now < nextExpiry) return;
    nextExpiry = Number.POSITIVE_INFINITY;
    for (const [key, expiresAt] of seen)
      if (expiresAt <= now) seen.delete(key);
      else nextExpiry = Math.min(nextExpiry, expiresAt);
  };
  return {
    claim(key, ttlMs) {
      const now = clock.now();
      purge(now);
      const expiresAt = seen.get(key);
      if (expiresAt !== undefined && expiresAt > now) return Promise.resolve("replayed");
      if (seen.size >= maxEntries) sweep(now);
      if (seen.size >= maxEntries)
        return Promise.resolve({ unavailable: `replay store full (${maxEntries} unexpired proofs)` });
      seen.delete(key);
      seen.set(key, now + ttlMs);
      nextExpiry = Math.min(nextExpiry, now + ttlMs);
      return Promise.resolve("fresh");
    },
    size: () => seen.size,
  };
}
