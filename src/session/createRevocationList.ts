// Sessions ended by a back-channel logout, as every replica must see them: by IdP session id (`sid`)
// or by subject (every session of that `sub` created at or before the logout). Checked in memory on
// every request; with Redis each revocation is also stored in a hash (kept as long as the longest
// session lives) and published, so every replica learns it at once and re-reads the hash whenever its
// connection comes back. Also the replay guard for logout-token `jti`s.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import type { RedisOperation } from "./createRedisSessionStore.ts";
import { SessionStoreUnavailableError } from "./SessionStore.ts";

export interface Revocation {
  readonly provider: string;
  readonly sid: string | null;
  readonly sub: string | null;
  /** Epoch seconds: sessions of `sub` created at or before this are revoked. */
  readonly at: number;
}

export interface RevocationList {
  isRevoked(session: { readonly provider: string; readonly sid: string | null; readonly sub: string; readonly createdAt: number }): boolean;
  /** Applies here at once, then shares it (Redis); throws SessionStoreUnavailableError when it could not be shared. */
  revoke(revocation: Revocation): Promise<void>;
  /** True the first time a logout token's jti is seen (per issuer), false for a replay. */
  firstUse(issuer: string, jti: string): Promise<boolean>;
  /** Entries held in memory (for tests and the metric). */
  size(): number;
  close(): void;
}

export interface RevocationListOptions {
  readonly connection: RedisConnection | null;
  /** How long a revocation is kept: the longest session lifetime. */
  readonly ttlSeconds: number;
  /** How long a jti is remembered: longer than a logout token is accepted for. */
  readonly jtiTtlSeconds: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
  readonly events?: { operation(operation: RedisOperation, ok: boolean): void };
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Re-read the shared list this often even when no connection dropped: pub/sub delivers at most once. */
const RESYNC_INTERVAL_MS = 60_000;

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const max = options.maxEntries ?? 100_000;
  const { connection, events, logger } = options;
  // field → "revokedAt:expiresAt"; the field hashes provider and sid/sub, so no identifier is stored in clear.
  const entries = new LRUCache<string, number>({ max, ttl: options.ttlSeconds * 1000 });
  const jtis = new LRUCache<string, true>({ max, ttl: options.jtiTtlSeconds * 1000 });
  const hashKey = connection === null ? "" : `${connection.prefix}revocations`;
  const channel = hashKey;

  const fieldOf = (kind: "sid" | "sub", provider: string, value: string) => `${kind}:${createHash("sha256").update(`${provider}\u0000${value}`).digest("base64url")}`;

  function remember(field: string, revokedAt: number, expiresAt: number): void {
    const ttlMs = (expiresAt - nowSeconds()) * 1000;
    if (ttlMs <= 0) return;
    const known = entries.get(field);
    // Keep the latest revocation time for a subject: it covers every earlier one.
    if (known === undefined || known < revokedAt) entries.set(field, revokedAt, { ttl: ttlMs });
  }

  function apply(message: string): void {
    const m = /^((?:sid|sub):[A-Za-z0-9_-]{43})=(\d{1,12}):(\d{1,12})$/.exec(message);
    if (m) remember(m[1] as string, Number(m[2]), Number(m[3]));
  }

  async function resync(): Promise<void> {
    if (connection === null) return;
    const client = connection.client;
    const all = await client.hgetall(hashKey);
    const expired: string[] = [];
    for (const [field, value] of Object.entries(all)) {
      const [revokedAt, expiresAt] = value.split(":").map(Number) as [number, number];
      if (!(expiresAt > nowSeconds())) expired.push(field);
      else apply(`${field}=${revokedAt}:${expiresAt}`);
    }
    // Hash fields cannot expire by themselves (before Redis 7.4): whoever sees old ones removes them.
    if (expired.length > 0) await client.hdel(hashKey, ...expired);
  }

  let timer: NodeJS.Timeout | null = null;
  if (connection !== null) {
    const sync = () =>
      void resync().then(
        () => events?.operation("revocation", true),
        (err: unknown) => {
          events?.operation("revocation", false);
          logger?.warn({ error: describeRedisError(err) }, "could not read the shared revocation list; will retry");
        },
      );
    const subscriber = connection.subscriber();
    subscriber.on("message", (from: string, message: string) => {
      if (from === channel) apply(message);
    });
    // (Re)subscribed: read everything published while this replica was away.
    subscriber.on("ready", () => {
      void subscriber.subscribe(channel).then(sync, () => undefined);
    });
    connection.client.on("ready", sync);
    timer = setInterval(sync, RESYNC_INTERVAL_MS);
    timer.unref();
  }

  return {
    isRevoked(session) {
      if (entries.size === 0) return false;
      if (session.sid !== null && entries.has(fieldOf("sid", session.provider, session.sid))) return true;
      const subRevokedAt = entries.get(fieldOf("sub", session.provider, session.sub));
      return subRevokedAt !== undefined && session.createdAt <= subRevokedAt;
    },
    async revoke(revocation) {
      const expiresAt = nowSeconds() + options.ttlSeconds;
      const fields = [
        ...(revocation.sid !== null ? [fieldOf("sid", revocation.provider, revocation.sid)] : []),
        ...(revocation.sub !== null && revocation.sid === null ? [fieldOf("sub", revocation.provider, revocation.sub)] : []),
      ];
      for (const field of fields) remember(field, revocation.at, expiresAt);
      if (connection === null) return;
      const batch = connection.client.multi();
      for (const field of fields) {
        const value = `${revocation.at}:${expiresAt}`;
        batch.hset(hashKey, field, value).publish(channel, `${field}=${value}`);
      }
      try {
        const replies = await batch.exec();
        if (replies === null || replies.some(([error]) => error)) throw new Error("transaction failed");
        events?.operation("revocation", true);
      } catch (error) {
        events?.operation("revocation", false);
        throw new SessionStoreUnavailableError(`Redis revocation failed: ${describeRedisError(error)}`);
      }
    },
    async firstUse(issuer, jti) {
      const key = createHash("sha256").update(`${issuer}\u0000${jti}`).digest("base64url");
      if (connection === null) {
        if (jtis.has(key)) return false;
        jtis.set(key, true);
        return true;
      }
      try {
        const set = await connection.client.set(`${connection.prefix}jti:${key}`, "1", "EX", options.jtiTtlSeconds, "NX");
        events?.operation("logout_replay", true);
        return set === "OK";
      } catch (error) {
        events?.operation("logout_replay", false);
        throw new SessionStoreUnavailableError(`Redis replay check failed: ${describeRedisError(error)}`);
      }
    },
    size: () => entries.size,
    close() {
      if (timer !== null) clearInterval(timer);
      entries.clear();
      jtis.clear();
    },
  };
}
