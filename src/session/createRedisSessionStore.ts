// Sessions kept in Redis, shared by every replica. The browser's cookie (sealed with the session
// keys) holds only the session id and a per-session secret; Redis holds the session encrypted with a
// key derived from that secret, so a dump of Redis alone reveals no token. The key expires with the
// session; sign-out and back-channel logout delete it. A refresh runs on one replica at a time under
// a Redis lock (renewed while the IdP call runs, released and written with a fencing check); the
// replicas that lose the race wait for the stored result instead of calling the IdP. Sessions read
// are kept a few seconds in memory (keyed by a digest of the cookie); every write or delete is
// published so the other replicas drop their copy at once, and nothing is served from memory while
// Redis is failing.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import { createCookieSealer } from "./createCookieSealer.ts";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import { createSessionCookies } from "./createSessionCookies.ts";
import { digestOwnCookies } from "./digestOwnCookies.ts";
import { digestPair } from "./digestPair.ts";
import { parseSession, type Session } from "./Session.ts";
import {
  SessionStoreUnavailableError,
  type RefreshRun,
  type SessionStore,
  type StoreLoad,
  type StoreRefresh,
} from "./SessionStore.ts";

export type RedisOperation = "session_read" | "session_write" | "session_delete" | "refresh_lock" | "revocation";

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
  readonly events?: { operation(operation: RedisOperation, ok: boolean): void };
  readonly logger?: { warn(obj: object, msg: string): void };
  /** Sessions kept in memory, each for at most CACHE_TTL_MS (default 10,000). */
  readonly cacheMax?: number;
}

/** Longest wait for another replica's refresh, kept under Envoy's 1 s per-try timeout of envoy/replicas.yaml. */
const WINNER_WAIT_MS = 750;
/** How long a session read from Redis is served from memory; writes and deletes anywhere drop it sooner. */
const CACHE_TTL_MS = 5_000;

const RECORD_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SECRET_BYTES = 32;
const HKDF_SALT = "portcullis/redis-session/v1";
/** Sessions whose cookie pointed at them during this process: id and secret, to write them back after a refresh. */
interface SessionRef {
  readonly id: string;
  readonly secret: Buffer;
}

// Fenced: only the lock's holder renews, releases or writes, so a holder that stalled past its lock
// never overwrites a newer session; a session deleted meanwhile (logout) is never brought back.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const FENCED_WRITE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('exists', KEYS[2]) == 0 then return 0 end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;
const FENCED_DELETE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('del', KEYS[2])`;

export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { connection } = options;
  const client: Redis = connection.client;
  const prefix = connection.prefix;
  const events = options.events;
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  const cookies = createSessionCookies({
    name: options.cookieName,
    domain: options.cookieDomain,
    sealer: createCookieSealer({ keys: options.keys, purpose: "portcullis-session-ref" }),
    maxChunks: 1,
  });
  const refs = new WeakMap<Session, SessionRef>();
  const refreshing = new Map<string, Promise<StoreRefresh>>();
  const cached = new LRUCache<string, { session: Session; present: readonly string[] }>({
    max: options.cacheMax ?? 10_000,
    ttl: CACHE_TTL_MS,
    dispose: (entry, key) => {
      const keys = cachedById.get(entry.session.id);
      keys?.delete(key);
      if (keys?.size === 0) cachedById.delete(entry.session.id);
    },
  });
  /** Cache keys by session id: two cookie spellings of one session are two entries, both dropped on invalidation. */
  const cachedById = new Map<string, Set<string>>();
  let lastFailureAt = 0;
  const invalidations = `${prefix}session-invalidations`;
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

  /** Drops the session from every replica's memory (here at once, elsewhere by pub/sub). */
  async function invalidate(id: string): Promise<void> {
    forget(id);
    await client.publish(invalidations, id).catch(() => undefined);
  }

  /** Memory is trusted only while Redis answers: a failure stops serving from it for a while. */
  const memoryUsable = () => connection.isUp() && Date.now() - lastFailureAt > CACHE_TTL_MS;

  const sessionKey = (id: string) => `${prefix}s:{${id}}`;
  const lockKey = (id: string) => `${sessionKey(id)}:lock`;
  const indexKey = (kind: "sid" | "sub", provider: string, value: string) =>
    `${prefix}idx:${kind}:${digestPair(provider, value)}`;

  async function call<T>(operation: RedisOperation, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      events?.operation(operation, true);
      return result;
    } catch (error) {
      events?.operation(operation, false);
      lastFailureAt = Date.now();
      cached.clear();
      throw new SessionStoreUnavailableError(
        `Redis ${operation.replace("_", " ")} failed: ${describeRedisError(error)}`,
      );
    }
  }

  function seal(session: Session, ref: SessionRef): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", recordKey(ref), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(sessionKey(ref.id)));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(session), "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.of(RECORD_VERSION), iv, ciphertext, cipher.getAuthTag()]);
  }

  function open(record: Buffer, ref: SessionRef): Session | null {
    if (record.length < 1 + IV_BYTES + TAG_BYTES || record[0] !== RECORD_VERSION) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", recordKey(ref), record.subarray(1, 1 + IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(sessionKey(ref.id)));
      decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(record.subarray(1 + IV_BYTES, record.length - TAG_BYTES)),
        decipher.final(),
      ]);
      const session = parseSession(JSON.parse(plain.toString("utf8")) as Record<string, unknown>);
      if (session === null || session.id !== ref.id) return null;
      refs.set(session, ref);
      return session;
    } catch {
      return null;
    }
  }

  async function load(jar: ReadonlyMap<string, string>, t: number): Promise<StoreLoad> {
    const cacheKey = digestOwnCookies(jar, cookies.owns);
    if (cacheKey === null) return { kind: "none" };
    const hit = memoryUsable() ? cached.get(cacheKey) : undefined;
    if (hit !== undefined) return { kind: "session", session: hit.session, present: hit.present };
    const read = cookies.read(jar, t);
    if (read.present.length === 0) return { kind: "none" };
    const ref = read.payload === null ? null : refOf(read.payload);
    if (ref === null) return { kind: "invalid", clear: cookies.clear(read.present) };
    let record: Buffer | null;
    try {
      record = await call("session_read", () => client.getBuffer(sessionKey(ref.id)));
    } catch (error) {
      return { kind: "unavailable", reason: (error as Error).message };
    }
    // Gone from Redis: expired, signed out or revoked by a back-channel logout.
    const session = record === null ? null : open(record, ref);
    if (session === null) return { kind: "invalid", clear: cookies.clear(read.present) };
    cached.set(cacheKey, { session, present: read.present });
    const keys = cachedById.get(session.id) ?? new Set<string>();
    keys.add(cacheKey);
    cachedById.set(session.id, keys);
    return { kind: "session", session, present: read.present };
  }

  async function create(session: Session, jar: ReadonlyMap<string, string>, t: number): Promise<readonly string[]> {
    const ref: SessionRef = { id: session.id, secret: randomBytes(SECRET_BYTES) };
    const ttlMs = Math.max(1, (session.expiresAt - t) * 1000);
    const indexTtl = options.lifetimeSeconds;
    const batch = client.multi().set(sessionKey(ref.id), seal(session, ref), "PX", ttlMs);
    // Sorted by expiry, so members of expired sessions are trimmed at each login instead of piling up.
    for (const key of indexKeysOf(session))
      batch.zremrangebyscore(key, "-inf", t).zadd(key, session.expiresAt, ref.id).expire(key, indexTtl);
    await call("session_write", () => execOrThrow(batch));
    refs.set(session, ref);
    return cookies.write(
      { i: ref.id, k: ref.secret.toString("base64url") },
      session.expiresAt,
      cookies.read(jar, t).present,
      t,
    );
  }

  function indexKeysOf(session: Session): string[] {
    const keys = [indexKey("sub", session.provider, session.sub)];
    if (session.sid !== null) keys.push(indexKey("sid", session.provider, session.sid));
    return keys;
  }

  function refresh(
    session: Session,
    present: readonly string[],
    run: () => Promise<RefreshRun>,
    t: number,
  ): Promise<StoreRefresh> {
    const ref = refs.get(session);
    if (ref === undefined)
      return Promise.resolve({ kind: "unavailable", reason: "session not loaded from this store", cause: "store" });
    // One attempt per session per replica; the lock makes it one across replicas.
    const running = refreshing.get(ref.id);
    if (running !== undefined) return running;
    const attempt = refreshOnce(session, ref, present, run, t).finally(() => refreshing.delete(ref.id));
    refreshing.set(ref.id, attempt);
    return attempt;
  }

  async function refreshOnce(
    session: Session,
    ref: SessionRef,
    present: readonly string[],
    run: () => Promise<RefreshRun>,
    t: number,
  ): Promise<StoreRefresh> {
    const token = randomBytes(16).toString("base64url");
    const ttl = options.lockTtlMs(session.provider);
    const lock = lockKey(ref.id);
    let acquired: string | null;
    try {
      acquired = await call("refresh_lock", () => client.set(lock, token, "PX", ttl, "NX"));
    } catch (error) {
      return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
    }
    if (acquired !== "OK") return awaitWinner(session, ref, present, ttl);
    // Another replica may have refreshed and released the lock after this request read the session
    // (or its in-memory copy): then its refresh token is spent, and the stored session is the fresh one.
    let stored: Session | null;
    try {
      const record = await call("session_read", () => client.getBuffer(sessionKey(ref.id)));
      stored = record === null ? null : open(record, ref);
    } catch (error) {
      await call("refresh_lock", () => client.eval(RELEASE, 1, lock, token)).catch(() => undefined);
      return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
    }
    if (stored === null || stored.accessToken !== session.accessToken) {
      await call("refresh_lock", () => client.eval(RELEASE, 1, lock, token)).catch(() => undefined);
      return stored === null
        ? { kind: "ended", clear: cookies.clear(present), reason: "session ended before the refresh" }
        : { kind: "fresh", session: stored, setCookies: [] };
    }
    // Renewed while the IdP call (and the access-token check after it) runs past a third of the lease.
    const renewal = setInterval(
      () => {
        void call("refresh_lock", () => client.eval(RENEW, 1, lock, token, String(ttl))).catch(() => undefined);
      },
      Math.max(10, Math.floor(ttl / 3)),
    );
    try {
      const outcome = await run().finally(() => clearInterval(renewal));
      if (outcome.kind === "unavailable") return { kind: "unavailable", reason: outcome.reason, cause: "idp" };
      if (outcome.kind === "ended") {
        await call("session_delete", () => client.eval(FENCED_DELETE, 2, lock, sessionKey(ref.id), token)).catch(
          () => undefined,
        );
        await invalidate(ref.id);
        return { kind: "ended", clear: cookies.clear(present), reason: outcome.reason };
      }
      const next = outcome.session;
      refs.set(next, ref);
      const ttlMs = Math.max(1, (next.expiresAt - t) * 1000);
      let written: unknown;
      try {
        written = await call("session_write", () =>
          client.eval(FENCED_WRITE, 2, lock, sessionKey(ref.id), token, seal(next, ref), String(ttlMs)),
        );
      } catch (error) {
        // The IdP may have rotated the refresh token: this request uses the new tokens, and the
        // stored session's next refresh shows whether the IdP still accepts the old one.
        options.logger?.warn(
          { session: shortId(ref.id), error: (error as Error).message },
          "refreshed session could not be stored",
        );
        return { kind: "fresh", session: next, setCookies: [] };
      }
      if (written === 1) {
        await invalidate(ref.id);
        return { kind: "fresh", session: next, setCookies: [] };
      }
      if (written === 0)
        return { kind: "ended", clear: cookies.clear(present), reason: "session ended during the refresh" };
      // The lease ran out before the write: another replica may hold it now; take what it stores.
      return await awaitWinner(session, ref, present, ttl);
    } finally {
      await call("refresh_lock", () => client.eval(RELEASE, 1, lock, token)).catch(() => undefined);
    }
  }

  /**
   * Another replica is refreshing this session: wait for its result in Redis, but never longer than
   * WINNER_WAIT_MS (below Envoy's per-try timeout); until then the current access token, which a
   * refresh ahead of expiry leaves valid, serves this request.
   */
  async function awaitWinner(
    session: Session,
    ref: SessionRef,
    present: readonly string[],
    ttl: number,
  ): Promise<StoreRefresh> {
    const deadline = Date.now() + Math.min(ttl + 1_000, WINNER_WAIT_MS);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      let record: Buffer | null;
      let locked: number;
      try {
        [record, locked] = await call("session_read", async () => {
          const replies = await execOrThrow(client.multi().getBuffer(sessionKey(ref.id)).exists(lockKey(ref.id)));
          return [replies[0] as Buffer | null, replies[1] as number] as const;
        });
      } catch (error) {
        return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
      }
      if (record === null)
        return {
          kind: "ended",
          clear: cookies.clear(present),
          reason: "session ended by the refresh on another replica",
        };
      const current = open(record, ref);
      if (current === null)
        return { kind: "ended", clear: cookies.clear(present), reason: "stored session unreadable" };
      if (current.accessToken !== session.accessToken) return { kind: "fresh", session: current, setCookies: [] };
      if (locked === 0)
        return { kind: "unavailable", reason: "the refresh on another replica did not complete", cause: "idp" };
    }
    return { kind: "unavailable", reason: "timed out waiting for the refresh on another replica", cause: "idp" };
  }

  async function destroy(session: Session | null, present: readonly string[]): Promise<readonly string[]> {
    const ref = session === null ? undefined : refs.get(session);
    if (ref !== undefined && session !== null) {
      const batch = client.multi().del(sessionKey(ref.id));
      for (const key of indexKeysOf(session)) batch.zrem(key, ref.id);
      await call("session_delete", () => execOrThrow(batch));
      await invalidate(ref.id);
    }
    return cookies.clear(present);
  }

  async function revoke(
    provider: string,
    by: { readonly sid: string | null; readonly sub: string | null },
  ): Promise<number> {
    const indexes = [
      ...(by.sid !== null ? [indexKey("sid", provider, by.sid)] : []),
      ...(by.sub !== null ? [indexKey("sub", provider, by.sub)] : []),
    ];
    if (indexes.length === 0) return 0;
    const ids = new Set<string>();
    for (const index of indexes)
      for (const id of await call("revocation", () => client.zrange(index, "0", "-1"))) ids.add(id);
    const batch = client.multi();
    for (const id of ids) batch.del(sessionKey(id));
    // A sub-wide logout also ends the sid index; a sid logout leaves the user's other sessions listed.
    if (by.sid !== null) batch.del(indexKey("sid", provider, by.sid));
    if (by.sub !== null) batch.del(indexKey("sub", provider, by.sub));
    const replies = await call("revocation", () => execOrThrow(batch));
    for (const id of ids) await invalidate(id);
    return replies.slice(0, ids.size).reduce<number>((sum, deleted) => sum + (deleted as number), 0);
  }

  return {
    kind: "redis",
    owns: (name) => cookies.owns(name),
    load,
    create,
    refresh,
    destroy,
    // The cookie is sealed with the session keys, not with anything in Redis: its id is readable
    // while Redis is down.
    sessionIdOf: (jar, t) => {
      const read = cookies.read(jar, t);
      return read.payload === null ? null : (refOf(read.payload)?.id ?? null);
    },
    clear: (present) => cookies.clear(present),
    revoke,
    close() {
      refreshing.clear();
      cached.clear();
      subscriber.off("message", onMessage);
      subscriber.off("ready", subscribe);
    },
  };
}

function recordKey(ref: SessionRef): KeyObject {
  return createSecretKey(
    Buffer.from(hkdfSync("sha256", ref.secret, HKDF_SALT, `portcullis redis session ${ref.id}`, 32)),
  );
}

function refOf(payload: Record<string, unknown>): SessionRef | null {
  const { i, k } = payload;
  if (typeof i !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(i) || typeof k !== "string") return null;
  const secret = Buffer.from(k, "base64url");
  if (secret.length !== SECRET_BYTES || secret.toString("base64url") !== k) return null;
  return { id: i, secret };
}

/** A MULTI's replies, or the first command error thrown. */
async function execOrThrow(batch: ReturnType<Redis["multi"]>): Promise<unknown[]> {
  const replies = await batch.exec();
  if (replies === null) throw new Error("transaction aborted");
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/** Enough of a session id to correlate log lines, never enough to use it. */
function shortId(id: string): string {
  return createHash("sha256").update(id).digest("base64url").slice(0, 8);
}
