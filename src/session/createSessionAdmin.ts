// What an operator can do to browser sessions: list a user's sessions (Redis store only: cookie
// sessions live in the browser and cannot be listed), end one by its handle, end all of a user's
// sessions. Ending goes through the revocation list, so every replica refuses the session (a cookie
// session too) even while it still holds a copy in memory; the stored records are deleted as well.
// Stateless over the Redis connection: a `serve --workers` supervisor builds one on its own.
import { epochSeconds } from "../clock/epochSeconds.ts";
import type { Clock } from "../clock/Clock.ts";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import type { RevocationList } from "./createRevocationList.ts";
import { execOrThrow } from "./execOrThrow.ts";
import { indexKeyOf, invalidationChannelOf, sessionKeyOf, summaryKeyOf } from "./redisSessionKeys.ts";
import { parseSessionSummary } from "./redisSessionSummary.ts";
import { SessionStoreUnavailableError } from "./SessionStore.ts";

export interface ListedSession {
  /** `<provider>.<session id>`: names the session to the admin API, opens nothing (the cookie's secret does). */
  readonly handle: string;
  readonly provider: string;
  /** Epoch seconds; null for a session stored before summaries were kept. */
  readonly createdAt: number | null;
  /**
   * Epoch seconds: the login, then (only with session.idleTimeoutSeconds) the last use, written at
   * most once a minute; null for a session stored before summaries were kept.
   */
  readonly lastSeenAt: number | null;
  readonly expiresAt: number;
  readonly userAgentDigest: string | null;
}

export interface SessionAdmin {
  /** Whether sessions can be listed (and so named by handle): only with the Redis session store. */
  readonly listable: boolean;
  /** The user's live sessions at these providers, oldest first, at most MAX_LISTED per provider. */
  list(sub: string, providers: readonly string[]): Promise<ListedSession[]>;
  /** "invalid": not a handle; "not_found": no live session has it. */
  endSession(handle: string): Promise<"ended" | "not_found" | "invalid">;
  /** Ends every session of `sub` at each provider created until now; how many stored sessions were deleted. */
  endSubject(
    sub: string,
    providers: readonly string[],
  ): Promise<{ readonly revokedAt: number; readonly deleted: number }>;
}

export interface SessionAdminOptions {
  /** Null without Redis: revocations then hold on this process only. */
  readonly connection: RedisConnection | null;
  readonly store: "redis" | "cookie";
  readonly revocations: RevocationList;
  /** How long a subject's revocation must be kept: the sessions and bearer tokens it refuses must not outlive it. */
  readonly lifetimeSeconds: number;
  readonly clock: Clock;
}

/** A user with more live sessions at one provider than this is listed in part (the oldest). */
export const MAX_LISTED = 500;
const HANDLE = /^([a-z0-9][a-z0-9_-]{0,62})\.([A-Za-z0-9_-]{16,64})$/;

export function createSessionAdmin(options: SessionAdminOptions): SessionAdmin {
  const { connection, revocations, clock } = options;
  const redis = options.store === "redis" ? connection : null;
  return {
    listable: redis !== null,
    async list(sub, providers) {
      if (redis === null) return [];
      const listed: ListedSession[] = [];
      for (const provider of providers) listed.push(...(await listAt(redis, provider, sub, epochSeconds(clock))));
      return listed;
    },
    async endSession(handle) {
      const m = HANDLE.exec(handle);
      if (m === null) return "invalid";
      if (redis === null) return "not_found";
      const [, provider, id] = m as unknown as [string, string, string];
      const [ttlMs, summary] = await run(() =>
        execOrThrow(redis.client.multi().pttl(sessionKeyOf(redis.prefix, id)).get(summaryKeyOf(redis.prefix, id))),
      );
      const known = parseSessionSummary(summary as string | null);
      if (typeof ttlMs !== "number" || ttlMs <= 0 || (known !== null && known.provider !== provider))
        return "not_found";
      // Refused everywhere first (copies in memory, a record read a moment ago), then deleted.
      const expiresAt = epochSeconds(clock) + Math.ceil(ttlMs / 1000);
      await revocations.endSession({ id, provider, expiresAt });
      await deleteStored(redis, [id]);
      return "ended";
    },
    async endSubject(sub, providers) {
      const at = epochSeconds(clock);
      // Every provider's revocation is begun before any is awaited: each is remembered here at
      // once, so a Redis fault on the first never leaves the others' sessions passing on this replica.
      const recorded = await Promise.allSettled(
        providers.map((provider) => revocations.revokeSubject({ provider, sub, at }, options.lifetimeSeconds)),
      );
      const failed = recorded.find((outcome) => outcome.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      if (redis === null) return { revokedAt: at, deleted: 0 };
      let deleted = 0;
      for (const provider of providers) {
        const index = indexKeyOf(redis.prefix, "sub", provider, sub);
        const ids = await run(() => redis.client.zrange(index, "0", "-1"));
        deleted += await deleteStored(redis, ids, index);
      }
      return { revokedAt: at, deleted };
    },
  };
}

async function listAt(redis: RedisConnection, provider: string, sub: string, t: number): Promise<ListedSession[]> {
  const index = indexKeyOf(redis.prefix, "sub", provider, sub);
  const ids = await run(() => redis.client.zrangebyscore(index, `(${t}`, "+inf", "LIMIT", 0, MAX_LISTED));
  if (ids.length === 0) return [];
  const batch = redis.client.multi();
  for (const id of ids) batch.pttl(sessionKeyOf(redis.prefix, id)).get(summaryKeyOf(redis.prefix, id));
  const replies = await run(() => execOrThrow(batch));
  const listed: ListedSession[] = [];
  ids.forEach((id, i) => {
    const ttlMs = replies[2 * i];
    // Gone: ended, expired or signed out (index entries are trimmed lazily).
    if (typeof ttlMs !== "number" || ttlMs <= 0) return;
    const summary = parseSessionSummary(replies[2 * i + 1] as string | null);
    listed.push({
      handle: `${provider}.${id}`,
      provider,
      createdAt: summary?.createdAt ?? null,
      lastSeenAt: summary?.lastSeenAt ?? null,
      expiresAt: summary?.expiresAt ?? t + Math.ceil(ttlMs / 1000),
      userAgentDigest: summary?.userAgentDigest ?? null,
    });
  });
  return listed.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
}

/** Deletes sessions' records and summaries (and the index), and drops them from every replica's memory. */
async function deleteStored(redis: RedisConnection, ids: readonly string[], index?: string): Promise<number> {
  if (ids.length === 0 && index === undefined) return 0;
  const batch = redis.client.multi();
  for (const id of ids) batch.del(sessionKeyOf(redis.prefix, id));
  for (const id of ids) batch.del(summaryKeyOf(redis.prefix, id));
  if (index !== undefined) batch.del(index);
  const channel = invalidationChannelOf(redis.prefix);
  for (const id of ids) batch.publish(channel, id);
  const replies = await run(() => execOrThrow(batch));
  return replies.slice(0, ids.length).reduce<number>((sum, n) => sum + (n as number), 0);
}

async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new SessionStoreUnavailableError(`Redis session admin failed: ${describeRedisError(error)}`);
  }
}
