// What the Redis session store's steps share: the connection, the cookie that carries each
// session's ref, the in-memory copies, the key names, and call(), which counts every operation and
// turns a failure into SessionStoreUnavailableError (and stops serving sessions from memory).
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import { createCookieSealer } from "./createCookieSealer.ts";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import { createRedisSessionMemory, type RedisSessionMemory } from "./createRedisSessionMemory.ts";
import { createSessionCookies, type SessionCookies } from "./createSessionCookies.ts";
import { indexKeyOf, sessionKeyOf, summaryKeyOf } from "./redisSessionKeys.ts";
import { openSessionRecord, sealSessionRecord, type SessionRef } from "./redisSessionRecord.ts";
import { redisFailureOutcome, type RedisOperationEvents } from "./RedisOperationEvents.ts";
import type { Session } from "./Session.ts";
import { SessionStoreUnavailableError } from "./SessionStore.ts";

export type RedisOperation =
  "session_read" | "session_write" | "session_delete" | "refresh_lock" | "revocation" | "dpop_replay";

export interface RedisSessionStoreOptions {
  readonly connection: RedisConnection;
  readonly cookieName: string;
  readonly cookieDomain: string | null;
  /** The session keys: they seal the cookie that carries the id and the secret. */
  readonly keys: readonly string[];
  /** Index entries (sid/sub → sessions) live as long as the longest session. */
  readonly lifetimeSeconds: number;
  /** How long a refresh may hold the lock before it is renewed: the provider's refresh timeout plus margin. */
  readonly lockTtlMs: (provider: string) => number;
  /** How often a replica that lost the refresh race looks for the winner's result. */
  readonly pollIntervalMs?: number;
  readonly events?: RedisOperationEvents;
  readonly logger?: { warn(obj: object, msg: string): void };
  /** Sessions kept in memory, each for at most CACHE_TTL_MS (default 10,000). */
  readonly cacheMax?: number;
  /** The memory's expiry, the lock renewal and the wait for another replica's refresh; default: the system clock. */
  readonly clock?: Clock;
}

export interface RedisSessionContext {
  readonly options: RedisSessionStoreOptions;
  readonly client: Redis;
  readonly clock: Clock;
  readonly cookies: SessionCookies;
  readonly memory: RedisSessionMemory;
  /** Sessions whose cookie pointed at them during this process: id and secret, to write them back after a refresh. */
  readonly refs: WeakMap<Session, SessionRef>;
  sessionKey(id: string): string;
  /** The session's listable summary (redisSessionSummary). */
  summaryKey(id: string): string;
  lockKey(id: string): string;
  indexKey(kind: "sid" | "sub", provider: string, value: string): string;
  call<T>(operation: RedisOperation, fn: () => Promise<T>): Promise<T>;
  seal(session: Session, ref: SessionRef): Buffer;
  /** Opens a record and remembers its ref for the session. */
  open(record: Buffer, ref: SessionRef): Session | null;
}

export function createRedisSessionContext(options: RedisSessionStoreOptions): RedisSessionContext {
  const { connection, events } = options;
  const prefix = connection.prefix;
  const clock = options.clock ?? systemClock;
  const memory = createRedisSessionMemory(connection, { cacheMax: options.cacheMax ?? 10_000, clock });
  const refs = new WeakMap<Session, SessionRef>();
  const sessionKey = (id: string) => sessionKeyOf(prefix, id);
  return {
    options,
    client: connection.client,
    clock,
    cookies: createSessionCookies({
      name: options.cookieName,
      domain: options.cookieDomain,
      sealer: createCookieSealer({ keys: options.keys, purpose: "portcullis-session-ref", clock }),
      maxChunks: 1,
      clock,
    }),
    memory,
    refs,
    sessionKey,
    summaryKey: (id) => summaryKeyOf(prefix, id),
    lockKey: (id) => `${sessionKey(id)}:lock`,
    indexKey: (kind, provider, value) => indexKeyOf(prefix, kind, provider, value),
    async call(operation, fn) {
      const startedAt = performance.now();
      try {
        const result = await fn();
        events?.operation(operation, "ok", (performance.now() - startedAt) / 1000);
        return result;
      } catch (error) {
        events?.operation(operation, redisFailureOutcome(error), (performance.now() - startedAt) / 1000);
        memory.failed();
        throw new SessionStoreUnavailableError(
          `Redis ${operation.replace("_", " ")} failed: ${describeRedisError(error)}`,
        );
      }
    },
    seal: (session, ref) => sealSessionRecord(session, ref, sessionKey(ref.id)),
    open(record, ref) {
      const session = openSessionRecord(record, ref, sessionKey(ref.id));
      if (session !== null) refs.set(session, ref);
      return session;
    },
  };
}
