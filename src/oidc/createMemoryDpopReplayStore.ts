// The DPoP replay store of one replica: proof keys in a Map in insertion order with one TTL for
// all (the proof window), so the oldest entry is always the next to expire and expired ones are
// dropped from the front. Bounded: when the store is full of unexpired proofs a new proof cannot be
// proved fresh and is refused (the store answers "unavailable"), never admitted by forgetting an older one.
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
  return {
    claim(key, ttlMs) {
      const now = clock.now();
      purge(now);
      const expiresAt = seen.get(key);
      if (expiresAt !== undefined && expiresAt > now) return Promise.resolve("replayed");
      if (seen.size >= maxEntries)
        return Promise.resolve({ unavailable: `replay store full (${maxEntries} unexpired proofs)` });
      seen.delete(key);
      seen.set(key, now + ttlMs);
      return Promise.resolve("fresh");
    },
    size: () => seen.size,
  };
}
