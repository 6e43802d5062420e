// Sessions ended by a back-channel logout, as every replica must see them: by IdP session id (`sid`)
// or by subject (every session of that `sub` created at or before the logout). Checked in memory on
// every request; with Redis each revocation is also stored in a hash (kept as long as the longest
// session lives) and published, so every replica learns it at once and re-reads the hash whenever its
// connection comes back. Also the replay guard for logout-token `jti`s.
import { LRUCache } from "lru-cache";
import { digestPair } from "./digestPair.ts";
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
  /**
   * Records a logout token's revocation, kept for `ttlSeconds` (the longest a session it names can
   * live): here at once, and with Redis for every replica, in one script with the token's jti, so a
   * jti is marked used exactly when its revocation is stored (a retry after a timed-out attempt is
   * either recorded now or was recorded then). "replayed" when the jti was seen before. Throws
   * SessionStoreUnavailableError when Redis could not be reached.
   */
  revoke(revocation: Revocation, ttlSeconds: number, token: { readonly issuer: string; readonly jti: string }): Promise<"revoked" | "replayed">;
  /** Entries held in memory (for tests and the metric). */
  size(): number;
  close(): void;
}

export interface RevocationListOptions {
  readonly connection: RedisConnection | null;
  /** How long a jti is remembered: longer than a logout token is accepted for. */
  readonly jtiTtlSeconds: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
  readonly events?: { operation(operation: RedisOperation, ok: boolean): void };
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The jti guard and the revocation, atomically: nothing is stored for a replayed jti. */
const RECORD_LOGOUT = `if not redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 3, #ARGV, 2 do
  redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('publish', ARGV[2], ARGV[i] .. '=' .. ARGV[i + 1])
end
return 1`;

/** Re-read the shared list this often even when no connection dropped: pub/sub delivers at most once. */
const RESYNC_INTERVAL_MS = 60_000;
/**
 * Revocations held in memory. Dropping one would let a revoked cookie session pass again, so the
 * bound is far above any realistic count of logouts within one session lifetime, and reaching it is
 * logged (at most once a minute) rather than silent.
 */
const MAX_REVOCATIONS = 1_000_000;

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const max = options.maxEntries ?? MAX_REVOCATIONS;
  const { connection, events, logger } = options;
  let lastEvictionWarning = 0;
  // field → revokedAt; the field hashes provider and sid/sub, so no identifier is stored in clear.
  // Each entry expires with the sessions it covers (its own TTL).
  const entries = new LRUCache<string, number>({
    max,
    ttlAutopurge: false,
    dispose: (_value, _key, reason) => {
      if (reason !== "evict" || Date.now() - lastEvictionWarning < 60_000) return;
      lastEvictionWarning = Date.now();
      logger?.warn({ max }, "the revocation list is full: the oldest back-channel logouts are being forgotten");
    },
  });
  const jtis = new LRUCache<string, true>({ max: 100_000, ttl: options.jtiTtlSeconds * 1000 });
  const hashKey = connection === null ? "" : `${connection.prefix}revocations`;
  const channel = hashKey;

  const fieldOf = (kind: "sid" | "sub", provider: string, value: string) => `${kind}:${digestPair(provider, value)}`;

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
    // In pages, so a long list never blocks Redis or this process in one go.
    let cursor = "0";
    do {
      const [next, flat] = await client.hscan(hashKey, cursor, "COUNT", 1000);
      cursor = next;
      const expired: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i] as string;
        const [revokedAt, expiresAt] = (flat[i + 1] as string).split(":").map(Number) as [number, number];
        if (!(expiresAt > nowSeconds())) expired.push(field);
        else apply(`${field}=${revokedAt}:${expiresAt}`);
      }
      // Hash fields cannot expire by themselves (before Redis 7.4): whoever sees old ones removes them.
      if (expired.length > 0) await client.hdel(hashKey, ...expired);
    } while (cursor !== "0");
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
    async revoke(revocation, ttlSeconds, token) {
      const expiresAt = nowSeconds() + ttlSeconds;
      const fields = [
        ...(revocation.sid !== null ? [fieldOf("sid", revocation.provider, revocation.sid)] : []),
        ...(revocation.sub !== null && revocation.sid === null ? [fieldOf("sub", revocation.provider, revocation.sub)] : []),
      ];
      const key = digestPair(token.issuer, token.jti);
      if (connection === null) {
        if (jtis.has(key)) return "replayed";
        jtis.set(key, true);
        for (const field of fields) remember(field, revocation.at, expiresAt);
        return "revoked";
      }
      // This replica refuses the sessions at once, whatever Redis says next.
      for (const field of fields) remember(field, revocation.at, expiresAt);
      const value = `${revocation.at}:${expiresAt}`;
      try {
        const recorded = await connection.client.eval(
          RECORD_LOGOUT,
          2,
          `${connection.prefix}jti:${key}`,
          hashKey,
          String(options.jtiTtlSeconds),
          channel,
          ...fields.flatMap((field) => [field, value]),
        );
        events?.operation("revocation", true);
        return recorded === 1 ? "revoked" : "replayed";
      } catch (error) {
        events?.operation("revocation", false);
        throw new SessionStoreUnavailableError(`Redis revocation failed: ${describeRedisError(error)}`);
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
