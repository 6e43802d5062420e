// Sessions ended early, as every replica must see them: by a back-channel logout, by IdP session id
// (`sid`) or by subject (every session of that `sub` created at or before the logout), and by a
// sign-out, by the session's own id (so a copy of a sealed cookie taken before the sign-out is dead
// too). Checked in memory on every request; with Redis each revocation is also stored in a hash
// (kept as long as the sessions it names can live) and published, so every replica learns it at
// once and re-reads the hash whenever its connection comes back. Without Redis a revocation lives
// only in the memory of the replica that recorded it. Also the replay guard for logout-token `jti`s.
import { randomBytes } from "node:crypto";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { systemClock } from "../clock/systemClock.ts";
import { digestPair } from "./digestPair.ts";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import {
  createRevocationEntries,
  revocationField,
  type RevocableSession,
  type RevocationEntries,
} from "./createRevocationEntries.ts";
import { followSharedRevocations } from "./followSharedRevocations.ts";
import type { RedisOperationEvents } from "./RedisOperationEvents.ts";
import { SessionStoreUnavailableError } from "./SessionStore.ts";
import { writeRevocationScript } from "./writeRevocationScript.ts";

export interface Revocation {
  readonly provider: string;
  readonly sid: string | null;
  readonly sub: string | null;
  /** Epoch seconds: sessions of `sub` created at or before this are revoked. */
  readonly at: number;
}

export interface RevocationList {
  isRevoked(session: RevocableSession): boolean;
  /** A verified bearer token, by its provider and its `sid`, `sub` and `iat` claims; false at once when the list is empty. */
  isTokenRevoked(provider: string, claims: Readonly<Record<string, unknown>>): boolean;
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
  /**
   * Ends every session of `sub` at `provider` created at or before `at` (epoch seconds), kept for
   * `ttlSeconds` (the longest such a session can live): here at once, and with Redis for every
   * replica. No logout token, so no jti: an operator's "end all of this user's sessions". Throws
   * SessionStoreUnavailableError when Redis could not be reached (this replica refuses them all the same).
   */
  revokeSubject(
    subject: { readonly provider: string; readonly sub: string; readonly at: number },
    ttlSeconds: number,
  ): Promise<void>;
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
  readonly events?: RedisOperationEvents;
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
/** A revocation without a jti (a sign-out, an operator's): idempotent, so a retry is harmless. */
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
/**
 * Revocations held in memory. Dropping one would let a revoked cookie session pass again, so the
 * bound is far above any realistic count of logouts within one session lifetime, and reaching it is
 * logged (at most once a minute) rather than silent.
 */
const MAX_REVOCATIONS = 1_000_000;

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const clock = options.clock ?? systemClock;
  const nowSeconds = () => epochSeconds(clock);
  const { connection, events, logger } = options;
  const entries = createRevocationEntries({
    max: options.maxEntries ?? MAX_REVOCATIONS,
    jtiTtlSeconds: options.jtiTtlSeconds,
    clock,
    logger,
  });
  const hashKey = connection === null ? "" : `${connection.prefix}revocations`;
  const channel = hashKey;
  const timer: ClockTimer | null =
    connection === null ? null : followSharedRevocations(connection, { hashKey, entries, clock, events, logger });
  const write = (redis: RedisConnection, script: string, keys: readonly string[], args: readonly string[]) =>
    writeRevocationScript(redis, script, keys, args, {
      budgetMs: options.writeBudgetMs ?? REVOCATION_WRITE_BUDGET_MS,
      clock,
      events,
      logger,
    });
  const shared = { entries, connection, hashKey, write };

  return {
    isRevoked: (session) => entries.isRevoked(session),
    isTokenRevoked: (provider, claims) => entries.isTokenRevoked(provider, claims),
    async revoke(revocation, ttlSeconds, token) {
      const expiresAt = nowSeconds() + ttlSeconds;
      const fields = [
        ...(revocation.sid !== null ? [revocationField("sid", revocation.provider, revocation.sid)] : []),
        ...(revocation.sub !== null && revocation.sid === null
          ? [revocationField("sub", revocation.provider, revocation.sub)]
          : []),
      ];
      const key = digestPair(token.issuer, token.jti);
      if (connection === null) {
        if (!entries.markJti(key)) return "replayed";
        for (const field of fields) entries.remember(field, revocation.at, expiresAt);
        return "revoked";
      }
      // This replica refuses the sessions at once, whatever Redis says next.
      for (const field of fields) entries.remember(field, revocation.at, expiresAt);
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
      const field = revocationField("ses", session.provider, session.id);
      const at = nowSeconds();
      // An expired session needs no shared record; this replica still refuses it at once.
      if (session.expiresAt <= at) return entries.remember(field, at, session.expiresAt);
      await recordRevocation(shared, field, { at, expiresAt: session.expiresAt });
    },
    endSessionHere(session) {
      entries.remember(revocationField("ses", session.provider, session.id), nowSeconds(), session.expiresAt);
    },
    revokeSubject: (subject, ttlSeconds) =>
      recordRevocation(shared, revocationField("sub", subject.provider, subject.sub), {
        at: subject.at,
        expiresAt: nowSeconds() + ttlSeconds,
      }),
    size: () => entries.size(),
    close() {
      timer?.cancel();
      entries.clear();
    },
  };
}

/**
 * A revocation without a jti: remembered here at once, then stored in the hash and published on the
 * channel of the same name for every replica.
 */
async function recordRevocation(
  list: {
    readonly entries: RevocationEntries;
    readonly connection: RedisConnection | null;
    readonly hashKey: string;
    readonly write: (redis: RedisConnection, script: string, keys: string[], args: string[]) => Promise<unknown>;
  },
  field: string,
  { at, expiresAt }: { readonly at: number; readonly expiresAt: number },
): Promise<void> {
  list.entries.remember(field, at, expiresAt);
  if (list.connection === null) return;
  try {
    await list.write(list.connection, RECORD_REVOCATION, [list.hashKey], [list.hashKey, field, `${at}:${expiresAt}`]);
  } catch (error) {
    throw new SessionStoreUnavailableError(`Redis revocation failed: ${describeRedisError(error)}`);
  }
}
