// Bounded cache of successful verifications, keyed by SHA-256 of the token so the token itself is
// never kept. An entry lives until the token's `exp` and never past it (re-checked on every hit with
// the injected clock); failures are never cached. A hit costs one SHA-256 and no I/O. Each entry
// remembers the key that verified it, so a key-set refresh that drops a key can end the tokens it
// signed (a scan of the cache, only when a key was removed: rare, and bounded by maxEntries).
// A hit hands back the one outcome object stored for the token (verify() answers with it as is), so
// a cached check allocates nothing here and the claims keep their identity for per-credential caches.
import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { JWTPayload } from "jose";

export interface CachedVerification {
  readonly provider: string;
  readonly claims: Readonly<JWTPayload>;
  /** epoch seconds */
  readonly expiresAt: number;
}

/** A hit: the verification as verify() answers it, one frozen object per cached token. */
export type CachedOutcome = CachedVerification & { readonly ok: true };

export interface TokenCache {
  /** The hash to use for both get and set, computed once per token. */
  keyOf(token: string): string;
  /** A live entry, or undefined (an entry at or past its exp is dropped). */
  get(key: string): CachedOutcome | undefined;
  /** Stores an entry unless it is already at or past its exp; `signingKey` = the verifying key's thumbprint. */
  set(key: string, entry: CachedVerification, signingKey: string): void;
  /** Drops the provider's entries verified by one of these keys; returns how many. */
  evictSignedBy(provider: string, removedKeys: ReadonlySet<string>): number;
  size(): number;
}

interface Entry {
  readonly verification: CachedOutcome;
  readonly signingKey: string;
}

export function createTokenCache(options: { maxEntries: number; now: () => number /* ms */ }): TokenCache {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new TypeError("tokenCacheMaxEntries must be a positive integer");
  }
  const { now } = options;
  const lru = new LRUCache<string, Entry>({
    max: options.maxEntries,
    // Same clock as the exp check, so tests with an injected clock see expiry consistently.
    perf: { now },
    ttlResolution: 0,
  });
  return {
    // One-shot hash: on the hot path it avoids a Hash object per check.
    keyOf: (token) => hash("sha256", token, "base64url"),
    get(key) {
      const entry = lru.get(key)?.verification;
      if (entry === undefined) return undefined;
      if (entry.expiresAt * 1000 <= now()) {
        lru.delete(key);
        return undefined;
      }
      return entry;
    },
    set(key, entry, signingKey) {
      const ttl = Math.floor(entry.expiresAt * 1000 - now());
      if (!(ttl >= 1)) return;
      const verification: CachedOutcome = Object.freeze({
        ok: true,
        provider: entry.provider,
        claims: entry.claims,
        expiresAt: entry.expiresAt,
      });
      lru.set(key, { verification, signingKey }, { ttl });
    },
    evictSignedBy(provider, removedKeys) {
      if (removedKeys.size === 0) return 0;
      const doomed: string[] = [];
      // peek-style iteration: does not refresh recency or touch TTLs.
      for (const [key, entry] of lru.entries()) {
        if (entry.verification.provider === provider && removedKeys.has(entry.signingKey)) doomed.push(key);
      }
      for (const key of doomed) lru.delete(key);
      return doomed.length;
    },
    size: () => lru.size,
  };
}
