// The revocations a replica holds in memory, checked on every session request: by IdP session id
// (`sid`), by subject (sessions created at or before the logout) and by the session's own id (a
// sign-out), each until the sessions it covers would have expired; and the logout-token jtis seen
// when there is no Redis. Fields are digests of provider and value: no identifier kept in clear.
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
