// The revocations a replica holds in memory, checked on every session request and every verified
// bearer token: by IdP session id (`sid`), by subject (sessions created, tokens issued, at or before
// the logout) and by the session's own id (a sign-out), each until what it covers would have
// expired; and the logout-token jtis seen when there is no Redis. Fields are digests of provider and
// value: no identifier kept in clear.
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { digestPair } from "./digestPair.ts";

export type RevocationKind = "sid" | "sub" | "ses";

/** What a revocation is matched against: the session's id, its provider's sid and sub, and when it began (epoch seconds). */
export interface RevocableSession {
  readonly id: string;
  readonly provider: string;
  readonly sid: string | null;
  readonly sub: string;
  readonly createdAt: number;
}

export interface RevocationEntries {
  /** Keeps the latest revocation time for the field until `expiresAt` (epoch seconds); a past one is ignored. */
  remember(field: string, revokedAt: number, expiresAt: number): void;
  /** A stored or published revocation, `field=revokedAt:expiresAt`; anything else is ignored. */
  apply(message: string): void;
  isRevoked(session: RevocableSession): boolean;
  /** A verified bearer token of `provider`, by its `sid`, `sub` and `iat` claims (see tokenRevoked). */
  isTokenRevoked(provider: string, claims: Readonly<Record<string, unknown>>): boolean;
  /** Marks a logout token's jti (digest) used on this replica; false when it was already. */
  markJti(key: string): boolean;
  size(): number;
  clear(): void;
}

export function revocationField(kind: RevocationKind, provider: string, value: string): string {
  return `${kind}:${digestPair(provider, value)}`;
}

export function createRevocationEntries(options: {
  readonly max: number;
  readonly jtiTtlSeconds: number;
  readonly clock: Clock;
  readonly logger?: { warn(obj: object, msg: string): void };
}): RevocationEntries {
  const { max, clock, logger } = options;
  let lastEvictionWarning = 0;
  // Entries and jtis expire on the same clock as the TTLs computed for them.
  const perf = { now: () => clock.now() };
  // Both caches are made on first use: an LRUCache allocates arrays for all of `max` up front (the
  // entries' million slots are 16 MB of RSS), and most processes never see a logout.
  // field → revokedAt. Each entry expires with the sessions it covers (its own TTL).
  let entries: LRUCache<string, number> | null = null;
  const entriesCache = () =>
    (entries ??= new LRUCache<string, number>({
      max,
      ttlAutopurge: false,
      perf,
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason !== "evict" || clock.now() - lastEvictionWarning < 60_000) return;
        lastEvictionWarning = clock.now();
        logger?.warn({ max }, "the revocation list is full: the oldest back-channel logouts are being forgotten");
      },
    }));
  let jtis: LRUCache<string, true> | null = null;
  const jtisCache = () =>
    (jtis ??= new LRUCache<string, true>({ max: 100_000, ttl: options.jtiTtlSeconds * 1000, perf, ttlResolution: 0 }));

  // A verified token's claims → its sid and sub fields; an entry goes with its claims (the token cache's).
  let fieldsByClaims: WeakMap<object, TokenFields> | null = null;

  function remember(field: string, revokedAt: number, expiresAt: number): void {
    const ttlMs = (expiresAt - epochSeconds(clock)) * 1000;
    if (ttlMs <= 0) return;
    const entries = entriesCache();
    const known = entries.get(field);
    // Keep the latest revocation time for a subject: it covers every earlier one.
    if (known === undefined || known < revokedAt) entries.set(field, revokedAt, { ttl: ttlMs });
  }

  return {
    remember,
    apply(message) {
      const m = /^((?:sid|sub|ses):[A-Za-z0-9_-]{43})=(\d{1,12}):(\d{1,12})$/.exec(message);
      if (m) remember(m[1] as string, Number(m[2]), Number(m[3]));
    },
    isRevoked(session) {
      if (entries === null || entries.size === 0) return false;
      if (session.sid !== null && entries.has(revocationField("sid", session.provider, session.sid))) return true;
      if (entries.has(revocationField("ses", session.provider, session.id))) return true;
      const subRevokedAt = entries.get(revocationField("sub", session.provider, session.sub));
      return subRevokedAt !== undefined && session.createdAt <= subRevokedAt;
    },
    isTokenRevoked(provider, claims) {
      // An empty list (the usual case) costs one size read and allocates nothing.
      if (entries === null || entries.size === 0) return false;
      // A cached token hands back the same claims object on every check, and it belongs to one
      // provider: its fields are digested once, not twice per check (a SHA-256 is about 1 µs).
      let fields = fieldsByClaims?.get(claims);
      if (fields === undefined) {
        fields = tokenFields(provider, claims);
        (fieldsByClaims ??= new WeakMap()).set(claims, fields);
      }
      return tokenRevoked(entries, fields, claims);
    },
    markJti(key) {
      const seen = jtisCache();
      if (seen.has(key)) return false;
      seen.set(key, true);
      return true;
    },
    size: () => entries?.size ?? 0,
    clear() {
      entries?.clear();
      jtis?.clear();
    },
  };
}

/** A token's `sid` and `sub` revocation fields, null where the claim is not a string. */
interface TokenFields {
  readonly sid: string | null;
  readonly sub: string | null;
}

function tokenFields(provider: string, claims: Readonly<Record<string, unknown>>): TokenFields {
  const { sid, sub } = claims;
  return {
    sid: typeof sid === "string" ? revocationField("sid", provider, sid) : null,
    sub: typeof sub === "string" ? revocationField("sub", provider, sub) : null,
  };
}

/**
 * A token whose `sid` names an ended IdP session is refused whenever it was issued; one whose `sub`
 * was logged out everywhere is refused when issued at or before that logout (`iat` <= revoked-at, as
 * a session created in that second is). A token without a numeric `iat` cannot show it came after
 * the logout, so it is refused too (fail closed: an IdP that leaves `iat` out would otherwise make
 * every user-wide logout a no-op for its tokens); the refusal lasts until the revocation expires.
 */
function tokenRevoked(
  entries: LRUCache<string, number>,
  fields: TokenFields,
  claims: Readonly<Record<string, unknown>>,
): boolean {
  if (fields.sid !== null && entries.has(fields.sid)) return true;
  const revokedAt = fields.sub === null ? undefined : entries.get(fields.sub);
  if (revokedAt === undefined) return false;
  const iat = claims["iat"];
  return typeof iat !== "number" || !(iat > revokedAt);
}
