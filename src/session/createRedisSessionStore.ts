// Sessions kept in Redis, shared by every replica. The browser's cookie (sealed with the session
// keys) holds only the session id and a per-session secret; Redis holds the session encrypted with a
// key derived from that secret (redisSessionRecord), so a dump of Redis alone reveals no token. The
// key expires with the session; sign-out, back-channel logout and a new login of the same browser
// (which replaces it) delete it. A refresh runs on one replica at a time under a Redis lock
// (refreshRedisSession). Sessions read are kept a few seconds in memory (createRedisSessionMemory),
// dropped on every replica by each write or delete. Beside each record a small summary
// (redisSessionSummary) is what the session admin lists.
import { digestOwnCookies } from "./digestOwnCookies.ts";
import { execOrThrow } from "./execOrThrow.ts";
import {
  createRedisSessionContext,
  type RedisSessionContext,
  type RedisSessionStoreOptions,
} from "./RedisSessionContext.ts";
import { newSessionRef, sessionRefOf, type SessionRef } from "./redisSessionRecord.ts";
import { digestUserAgent, encodeSessionSummary } from "./redisSessionSummary.ts";
import { refreshUnderLock } from "./refreshRedisSession.ts";
import type { Session } from "./Session.ts";
import type { RefreshRun, SessionStore, StoreLoad, StoreRefresh } from "./SessionStore.ts";

export type { RedisOperation, RedisSessionStoreOptions } from "./RedisSessionContext.ts";

export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const ctx = createRedisSessionContext(options);
  const { cookies } = ctx;
  const refreshing = new Map<string, Promise<StoreRefresh>>();
  const touching = new Map<string, Promise<{ session: Session; setCookies: readonly string[] }>>();

  function refresh(
    session: Session,
    present: readonly string[],
    run: () => Promise<RefreshRun>,
    t: number,
  ): Promise<StoreRefresh> {
    const ref = ctx.refs.get(session);
    if (ref === undefined)
      return Promise.resolve({ kind: "unavailable", reason: "session not loaded from this store", cause: "store" });
    // One attempt per session per replica; the lock makes it one across replicas.
    const running = refreshing.get(ref.id);
    if (running !== undefined) return running;
    const attempt = refreshUnderLock(ctx, session, ref, present, run, t).finally(() => refreshing.delete(ref.id));
    refreshing.set(ref.id, attempt);
    return attempt;
  }

  return {
    kind: "redis",
    owns: (name) => cookies.owns(name),
    load: (jar, t) => loadSession(ctx, jar, t),
    create: (session, jar, t, userAgent, replaces) =>
      createSession(ctx, session, jar, t, userAgent ?? null, replaces ?? null),
    refresh,
    touch(session, _, t) {
      const ref = ctx.refs.get(session);
      if (ref === undefined) return Promise.reject(new Error("session not loaded from this store"));
      // Requests of one session that race write its last-seen time once.
      const running = touching.get(ref.id);
      if (running !== undefined) return running;
      const write = touchSession(ctx, session, ref, t).finally(() => touching.delete(ref.id));
      touching.set(ref.id, write);
      return write;
    },
    destroy: (session, present) => destroySession(ctx, session, present),
    // The cookie is sealed with the session keys, not with anything in Redis: its id is readable
    // while Redis is down.
    sessionIdOf: (jar, t) => {
      const read = cookies.read(jar, t);
      return read.payload === null ? null : (sessionRefOf(read.payload)?.id ?? null);
    },
    clear: (present) => cookies.clear(present),
    revoke: (provider, by) => revokeSessions(ctx, provider, by),
    close() {
      refreshing.clear();
      touching.clear();
      ctx.memory.close();
    },
  };
}

async function loadSession(ctx: RedisSessionContext, jar: ReadonlyMap<string, string>, t: number): Promise<StoreLoad> {
  const { cookies } = ctx;
  const cacheKey = digestOwnCookies(jar, cookies.owns);
  if (cacheKey === null) return { kind: "none" };
  const hit = ctx.memory.get(cacheKey);
  if (hit !== undefined) return { kind: "session", session: hit.session, present: hit.present };
  const read = cookies.read(jar, t);
  if (read.present.length === 0) return { kind: "none" };
  const ref = read.payload === null ? null : sessionRefOf(read.payload);
  if (ref === null) return { kind: "invalid", clear: cookies.clear(read.present) };
  let record: Buffer | null;
  try {
    record = await ctx.call("session_read", () => ctx.client.getBuffer(ctx.sessionKey(ref.id)));
  } catch (error) {
    return { kind: "unavailable", reason: (error as Error).message };
  }
  // Gone from Redis: expired, signed out or revoked by a back-channel logout.
  const session = record === null ? null : ctx.open(record, ref);
  if (session === null) return { kind: "invalid", clear: cookies.clear(read.present) };
  ctx.memory.set(cacheKey, { session, present: read.present });
  return { kind: "session", session, present: read.present };
}

async function createSession(
  ctx: RedisSessionContext,
  session: Session,
  jar: ReadonlyMap<string, string>,
  t: number,
  userAgent: string | null,
  replaces: Session | null,
): Promise<readonly string[]> {
  const ref = newSessionRef(session.id);
  // Only a session this store opened (its cookie's seal and its record's key both held): never an
  // id a cookie merely names.
  const replaced = replaces === null ? undefined : ctx.refs.get(replaces);
  const ttlMs = Math.max(1, (session.expiresAt - t) * 1000);
  const indexTtl = ctx.options.lifetimeSeconds;
  const summary = encodeSessionSummary({
    provider: session.provider,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt ?? null,
    expiresAt: session.expiresAt,
    userAgentDigest: digestUserAgent(userAgent),
  });
  const batch = ctx.client.multi();
  // The replaced session ends in the same transaction as the new one is written, both or neither: a
  // failed write fails the login and the browser keeps its session; one Redis runs after it timed
  // out leaves the browser signed out (the new cookie never reached it), never with both alive.
  if (replaces !== null && replaced !== undefined && replaced.id !== ref.id) {
    batch.del(ctx.sessionKey(replaced.id), ctx.summaryKey(replaced.id));
    for (const key of indexKeysOf(ctx, replaces)) batch.zrem(key, replaced.id);
  }
  batch
    .set(ctx.sessionKey(ref.id), ctx.seal(session, ref), "PX", ttlMs)
    .set(ctx.summaryKey(ref.id), summary, "PX", ttlMs);
  // Sorted by expiry, so members of expired sessions are trimmed at each login instead of piling up.
  for (const key of indexKeysOf(ctx, session))
    batch.zremrangebyscore(key, "-inf", t).zadd(key, session.expiresAt, ref.id).expire(key, indexTtl);
  await ctx.call("session_write", () => execOrThrow(batch));
  ctx.refs.set(session, ref);
  // Every replica drops its copy of the replaced session, so its next read finds the record gone.
  if (replaced !== undefined && replaced.id !== ref.id) await ctx.memory.invalidate(replaced.id);
  return ctx.cookies.write(
    { i: ref.id, k: ref.secret.toString("base64url") },
    session.expiresAt,
    ctx.cookies.read(jar, t).present,
    t,
  );
}

async function touchSession(
  ctx: RedisSessionContext,
  loaded: Session,
  ref: SessionRef,
  t: number,
): Promise<{ session: Session; setCookies: readonly string[] }> {
  const session = { ...loaded, lastSeenAt: t };
  // XX: a session deleted meanwhile (sign-out, back-channel logout) stays deleted; KEEPTTL: the
  // absolute lifetime is unchanged.
  // With the listing's last-seen time (a summary missing, from before summaries were kept, stays so).
  await ctx.call("session_write", () =>
    execOrThrow(
      ctx.client
        .multi()
        .set(ctx.sessionKey(ref.id), ctx.seal(session, ref), "KEEPTTL", "XX")
        .eval(TOUCH_SUMMARY, 1, ctx.summaryKey(ref.id), String(t)),
    ),
  );
  ctx.refs.set(session, ref);
  // Every replica drops its copy, so the next read sees the new last-seen time and writes no more.
  await ctx.memory.invalidate(ref.id);
  return { session, setCookies: [] };
}

async function destroySession(
  ctx: RedisSessionContext,
  session: Session | null,
  present: readonly string[],
): Promise<readonly string[]> {
  const ref = session === null ? undefined : ctx.refs.get(session);
  if (ref !== undefined && session !== null) {
    const batch = ctx.client.multi().del(ctx.sessionKey(ref.id), ctx.summaryKey(ref.id));
    for (const key of indexKeysOf(ctx, session)) batch.zrem(key, ref.id);
    await ctx.call("session_delete", () => execOrThrow(batch));
    await ctx.memory.invalidate(ref.id);
  }
  return ctx.cookies.clear(present);
}

async function revokeSessions(
  ctx: RedisSessionContext,
  provider: string,
  by: { readonly sid: string | null; readonly sub: string | null },
): Promise<number> {
  const indexes = [
    ...(by.sid !== null ? [ctx.indexKey("sid", provider, by.sid)] : []),
    ...(by.sub !== null ? [ctx.indexKey("sub", provider, by.sub)] : []),
  ];
  if (indexes.length === 0) return 0;
  const ids = new Set<string>();
  for (const index of indexes)
    for (const id of await ctx.call("revocation", () => ctx.client.zrange(index, "0", "-1"))) ids.add(id);
  const batch = ctx.client.multi();
  for (const id of ids) batch.del(ctx.sessionKey(id));
  // After the records, so the replies counted below are one per session.
  for (const id of ids) batch.del(ctx.summaryKey(id));
  // A sub-wide logout also ends the sid index; a sid logout leaves the user's other sessions listed.
  if (by.sid !== null) batch.del(ctx.indexKey("sid", provider, by.sid));
  if (by.sub !== null) batch.del(ctx.indexKey("sub", provider, by.sub));
  const replies = await ctx.call("revocation", () => execOrThrow(batch));
  for (const id of ids) await ctx.memory.invalidate(id);
  return replies.slice(0, ids.size).reduce<number>((sum, deleted) => sum + (deleted as number), 0);
}

/** Sets the summary's last-seen time, in Redis, so two replicas touching at once cannot lose the rest. */
const TOUCH_SUMMARY = `local text = redis.call('get', KEYS[1])
if not text then return 0 end
local ok, summary = pcall(cjson.decode, text)
if not ok or type(summary) ~= 'table' then return 0 end
summary['l'] = tonumber(ARGV[1])
redis.call('set', KEYS[1], cjson.encode(summary), 'KEEPTTL')
return 1`;

function indexKeysOf(ctx: RedisSessionContext, session: Session): string[] {
  const keys = [ctx.indexKey("sub", session.provider, session.sub)];
  if (session.sid !== null) keys.push(ctx.indexKey("sid", session.provider, session.sid));
  return keys;
}
