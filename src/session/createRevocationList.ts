// Sessions ended early, as every replica must see them: by a back-channel logout, by IdP session id
// (`sid`) or by subject (every session of that `sub` created at or before the logout), and by a
// sign-out, by the session's own id (so a copy of a sealed cookie taken before the sign-out is dead
// too). Checked in memory on every request; with Redis each revocation is also stored in a hash
// (kept as long as the sessions it names can live) and published, so every replica learns it at
// once and re-reads the hash whenever its connection comes back. Without Redis a revocation lives
// only in the memory of the replica that recorded it. Also the replay guard for logout-token `jti`s.
import { randomBytes } from "node:crypto";
import { Command } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { sleep } from "../clock/sleep.ts";
import { systemClock } from "../clock/systemClock.ts";
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
  isRevoked(session: {
    readonly id: string;
    readonly provider: string;
    readonly sid: string | null;
    readonly sub: string;
    readonly createdAt: number;
  }): boolean;
  /**
   * Records a logout token's revocation, kept for `ttlSeconds` (the longest a session it names can
   * live): here at once, and with Redis for every replica, in one script with the token's jti, so a
   * jti is marked used exactly when its revocation is stored (a retry after a timed-out attempt is
   * either recorded now or was recorded then). "replayed" when the jti was seen before. Throws
   * SessionStoreUnavailableError when Redis could not be reached.
   */
  revoke(
    revocation: Revocation,
    ttlSeconds: number,
    token: { readonly issuer: string; readonly jti: string },
  ): Promise<"revoked" | "replayed">;
  /**
   * Records a signed-out session by its id until it would have expired (`expiresAt`, epoch
   * seconds): here at once, and with Redis for every replica. Throws SessionStoreUnavailableError
   * when Redis could not be reached (this replica refuses the session all the same).
   */
  endSession(session: { readonly id: string; readonly provider: string; readonly expiresAt: number }): Promise<void>;
  /**
   * Records a signed-out session by its id on this replica only, without Redis: what a sign-out
   * can still do when the session store cannot be read (the caller then asks the user to retry, and
   * the retry's endSession shares it).
   */
  endSessionHere(session: { readonly id: string; readonly provider: string; readonly expiresAt: number }): void;
  /** Entries held in memory (for tests and the metric). */
  size(): number;
  close(): void;
}

export interface RevocationListOptions {
  readonly connection: RedisConnection | null;
  /** How long a jti is remembered: longer than a logout token is accepted for. */
  readonly jtiTtlSeconds: number;
  readonly maxEntries?: number;
  /**
   * How long one write to Redis (a logout's or a sign-out's) may take, retry included; default
   * REVOCATION_WRITE_BUDGET_MS, or redis.commandTimeoutMs when that is longer.
   */
  readonly writeBudgetMs?: number;
  /** Entry expiry, the resync interval and the write budget; default: the system clock. */
  readonly clock?: Clock;
  readonly events?: { operation(operation: RedisOperation, ok: boolean): void };
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * The jti guard and the revocation, atomically: nothing is stored for a replayed jti. The guard
 * holds a nonce of the request that set it, so the retry of an attempt that timed out after Redis
 * ran it is recognised as the same logout, not refused as a replay.
 */
const RECORD_LOGOUT = `local held = redis.call('get', KEYS[1])
if held then
  if held == ARGV[3] then return 1 end
  return 0
end
redis.call('set', KEYS[1], ARGV[3], 'EX', ARGV[1])
for i = 4, #ARGV, 2 do
  redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('publish', ARGV[2], ARGV[i] .. '=' .. ARGV[i + 1])
end
return 1`;
/** A revocation without a jti (a sign-out): idempotent, so a retry is harmless. */
const RECORD_REVOCATION = `for i = 2, #ARGV, 2 do
  redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('publish', ARGV[1], ARGV[i] .. '=' .. ARGV[i + 1])
end
return 1`;

/**
 * One revocation write, retry included, takes at most this long: an IdP waits a few seconds for the
 * back-channel answer (oidc-provider 2.5 s), and a sign-out is a user waiting. Each attempt gets
 * half of it (more than the 500 ms default command timeout, so a starved machine gets a fair
 * chance), and a second attempt gets what is left: two attempts at most.
 */
export const REVOCATION_WRITE_BUDGET_MS = 2_000;
const REVOCATION_WRITE_ATTEMPTS = 2;
/** A second attempt needs at least this much of the budget to be worth making. */
const MIN_ATTEMPT_MS = 100;
/** After a failure that was immediate (not connected), the pause before the retry: a reconnect's first step. */
const RECONNECT_PAUSE_MS = 250;

/** Re-read the shared list this often even when no connection dropped: pub/sub delivers at most once. */
const RESYNC_INTERVAL_MS = 60_000;
/**
 * Revocations held in memory. Dropping one would let a revoked cookie session pass again, so the
 * bound is far above any realistic count of logouts within one session lifetime, and reaching it is
 * logged (at most once a minute) rather than silent.
 */
const MAX_REVOCATIONS = 1_000_000;

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const clock = options.clock ?? systemClock;
  const nowSeconds = () => epochSeconds(clock);
  const max = options.maxEntries ?? MAX_REVOCATIONS;
  const { connection, events, logger } = options;
  let lastEvictionWarning = 0;
  // field → revokedAt; the field hashes provider and sid/sub, so no identifier is stored in clear.
  // Each entry expires with the sessions it covers (its own TTL).
  // Entries and jtis expire on the same clock as the TTLs computed for them.
  const perf = { now: () => clock.now() };
  const entries = new LRUCache<string, number>({
    max,
    ttlAutopurge: false,
    perf,
    ttlResolution: 0,
    dispose: (_value, _key, reason) => {
      if (reason !== "evict" || clock.now() - lastEvictionWarning < 60_000) return;
      lastEvictionWarning = clock.now();
      logger?.warn({ max }, "the revocation list is full: the oldest back-channel logouts are being forgotten");
    },
  });
  const jtis = new LRUCache<string, true>({ max: 100_000, ttl: options.jtiTtlSeconds * 1000, perf, ttlResolution: 0 });
  const hashKey = connection === null ? "" : `${connection.prefix}revocations`;
  const channel = hashKey;

  const fieldOf = (kind: "sid" | "sub" | "ses", provider: string, value: string) =>
    `${kind}:${digestPair(provider, value)}`;

  function remember(field: string, revokedAt: number, expiresAt: number): void {
    const ttlMs = (expiresAt - nowSeconds()) * 1000;
    if (ttlMs <= 0) return;
    const known = entries.get(field);
    // Keep the latest revocation time for a subject: it covers every earlier one.
    if (known === undefined || known < revokedAt) entries.set(field, revokedAt, { ttl: ttlMs });
  }

  function apply(message: string): void {
    const m = /^((?:sid|sub|ses):[A-Za-z0-9_-]{43})=(\d{1,12}):(\d{1,12})$/.exec(message);
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

  let timer: ClockTimer | null = null;
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
    timer = clock.setInterval(sync, RESYNC_INTERVAL_MS);
  }

  /**
   * Runs a revocation script with its own timeout (longer than redis.commandTimeoutMs, which is
   * tuned for the Check path), retried once within the write budget. Both scripts are idempotent,
   * so an attempt that timed out after Redis ran it does no harm to the retry.
   */
  async function write(
    redis: RedisConnection,
    script: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const budget = Math.max(options.writeBudgetMs ?? REVOCATION_WRITE_BUDGET_MS, redis.commandTimeoutMs);
    const deadline = clock.now() + budget;
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= REVOCATION_WRITE_ATTEMPTS; attempt++) {
      const remaining = deadline - clock.now();
      if (attempt > 1 && remaining < MIN_ATTEMPT_MS) break;
      const startedAt = clock.now();
      try {
        const reply = await evalWithTimeout(
          redis,
          script,
          keys,
          args,
          Math.min(Math.max(redis.commandTimeoutMs, Math.floor(budget / 2)), remaining),
        );
        events?.operation("revocation", true);
        return reply;
      } catch (error) {
        lastError = error;
        events?.operation("revocation", false);
        logger?.warn({ attempt, error: describeRedisError(error) }, "a revocation could not be written to Redis");
        // Refused at once (no connection): give a reconnect a moment rather than failing twice in a row.
        if (clock.now() - startedAt < MIN_ATTEMPT_MS)
          await sleep(clock, Math.min(RECONNECT_PAUSE_MS, Math.max(0, deadline - clock.now() - MIN_ATTEMPT_MS)));
      }
    }
    throw lastError;
  }

  return {
    isRevoked(session) {
      if (entries.size === 0) return false;
      if (session.sid !== null && entries.has(fieldOf("sid", session.provider, session.sid))) return true;
      if (entries.has(fieldOf("ses", session.provider, session.id))) return true;
      const subRevokedAt = entries.get(fieldOf("sub", session.provider, session.sub));
      return subRevokedAt !== undefined && session.createdAt <= subRevokedAt;
    },
    async revoke(revocation, ttlSeconds, token) {
      const expiresAt = nowSeconds() + ttlSeconds;
      const fields = [
        ...(revocation.sid !== null ? [fieldOf("sid", revocation.provider, revocation.sid)] : []),
        ...(revocation.sub !== null && revocation.sid === null
          ? [fieldOf("sub", revocation.provider, revocation.sub)]
          : []),
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
      const nonce = randomBytes(16).toString("base64url");
      try {
        const recorded = await write(
          connection,
          RECORD_LOGOUT,
          [`${connection.prefix}jti:${key}`, hashKey],
          [String(options.jtiTtlSeconds), channel, nonce, ...fields.flatMap((field) => [field, value])],
        );
        return recorded === 1 ? "revoked" : "replayed";
      } catch (error) {
        throw new SessionStoreUnavailableError(`Redis revocation failed: ${describeRedisError(error)}`);
      }
    },
    async endSession(session) {
      const field = fieldOf("ses", session.provider, session.id);
      const at = nowSeconds();
      remember(field, at, session.expiresAt);
      if (connection === null || session.expiresAt <= at) return;
      try {
        await write(connection, RECORD_REVOCATION, [hashKey], [channel, field, `${at}:${session.expiresAt}`]);
      } catch (error) {
        throw new SessionStoreUnavailableError(`Redis revocation failed: ${describeRedisError(error)}`);
      }
    },
    endSessionHere(session) {
      remember(fieldOf("ses", session.provider, session.id), nowSeconds(), session.expiresAt);
    },
    size: () => entries.size,
    close() {
      timer?.cancel();
      entries.clear();
      jtis.clear();
    },
  };
}

/** EVAL with a timeout of its own: ioredis applies commandTimeout only to commands without one. */
function evalWithTimeout(
  redis: RedisConnection,
  script: string,
  keys: readonly string[],
  args: readonly string[],
  timeoutMs: number,
): Promise<unknown> {
  const command = new Command("eval", [script, keys.length, ...keys, ...args], { replyEncoding: "utf8" });
  command.setTimeout(Math.max(1, timeoutMs));
  redis.client.sendCommand(command);
  return command.promise as Promise<unknown>;
}
