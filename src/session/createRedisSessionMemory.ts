// The few seconds a replica serves a Redis session from memory (keyed by a digest of the cookie):
// every write or delete anywhere is published so each replica drops its copy at once, and nothing
// is served from memory while Redis is failing or shortly after it failed.
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";
import type { RedisConnection } from "./createRedisConnection.ts";
import { invalidationChannelOf } from "./redisSessionKeys.ts";
import type { Session } from "./Session.ts";

export interface RememberedSession {
  readonly session: Session;
  readonly present: readonly string[];
}

export interface RedisSessionMemory {
  /** A session read in the last CACHE_TTL_MS, unless Redis is down or failed within that time. */
  get(cacheKey: string): RememberedSession | undefined;
  set(cacheKey: string, remembered: RememberedSession): void;
  /** Drops the session from every replica's memory (here at once, elsewhere by pub/sub). */
  invalidate(id: string): Promise<void>;
  /** A Redis operation failed: forget everything, and serve nothing from memory for a while. */
  failed(): void;
  close(): void;
}

/** How long a session read from Redis is served from memory; writes and deletes anywhere drop it sooner. */
const CACHE_TTL_MS = 5_000;

export function createRedisSessionMemory(
  connection: RedisConnection,
  options: { readonly cacheMax: number; readonly clock: Clock },
): RedisSessionMemory {
  const { clock } = options;
  /** Cache keys by session id: two cookie spellings of one session are two entries, both dropped on invalidation. */
  const cachedById = new Map<string, Set<string>>();
  const cached = new LRUCache<string, RememberedSession>({
    max: options.cacheMax,
    ttl: CACHE_TTL_MS,
    perf: { now: () => clock.now() },
    ttlResolution: 0,
    dispose: (entry, key) => {
      const keys = cachedById.get(entry.session.id);
      keys?.delete(key);
      if (keys?.size === 0) cachedById.delete(entry.session.id);
    },
  });
  let lastFailureAt = 0;
  const invalidations = invalidationChannelOf(connection.prefix);
  const subscriber = connection.subscriber();
  const onMessage = (channel: string, id: string) => {
    if (channel === invalidations) forget(id);
  };
  subscriber.on("message", onMessage);
  const subscribe = () => void subscriber.subscribe(invalidations).catch(() => undefined);
  subscriber.on("ready", subscribe);
  if (subscriber.status === "ready") subscribe();

  function forget(id: string): void {
    for (const key of [...(cachedById.get(id) ?? [])]) cached.delete(key);
  }

  /** Memory is trusted only while Redis answers: a failure stops serving from it for a while. */
  const usable = () => connection.isUp() && clock.now() - lastFailureAt > CACHE_TTL_MS;

  return {
    get: (cacheKey) => (usable() ? cached.get(cacheKey) : undefined),
    set(cacheKey, remembered) {
      cached.set(cacheKey, remembered);
      const keys = cachedById.get(remembered.session.id) ?? new Set<string>();
      keys.add(cacheKey);
      cachedById.set(remembered.session.id, keys);
    },
    async invalidate(id) {
      forget(id);
      await connection.client.publish(invalidations, id).catch(() => undefined);
    },
    failed() {
      lastFailureAt = clock.now();
      cached.clear();
    },
    close() {
      cached.clear();
      subscriber.off("message", onMessage);
      subscriber.off("ready", subscribe);
    },
  };
}
