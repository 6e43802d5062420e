// Signs the identity assertion an upstream gets: a compact JWS (ES256 or EdDSA, `kid` of the key)
// over iss, aud, the identity claims (assertionIdentity.ts), iat, exp and jti. One assertion is kept
// per identity and audience (bounded LRU, keyed by the claims it carries, so a changed role makes a
// new one) and reused until half of its life has passed, so most checks pay a lookup, not a
// signature. Its life ends at the credential's own `exp` at the latest. Time comes from `now`.
import { randomBytes, sign } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { IdentityConfig } from "../config/PortcullisConfig.ts";
import type { AssertionKey, AssertionKeySet } from "./AssertionKey.ts";
import { assertionIdentity, type AssertionClaim } from "./assertionIdentity.ts";

export type AssertionConfig = NonNullable<IdentityConfig["assertion"]>;

type Claims = Readonly<Record<string, unknown>>;

export interface IssuedAssertion {
  /** The compact JWS, the header's value. */
  readonly value: string;
  /** Epoch ms from which it is made again (half-way through its life). */
  readonly renewAt: number;
}

/** Why no assertion could be made; the caller denies (fail closed). */
export type AssertionRefusal = { readonly refused: "keys_not_loaded" | "identity_too_large" };

export interface AssertionSigner {
  readonly header: string;
  issue(claims: Claims, provider: string, machine: boolean, audience: string): IssuedAssertion | AssertionRefusal;
  /** Lookups answered from the cache and assertions signed, since start. */
  stats(): { readonly hits: number; readonly misses: number };
}

export interface AssertionSignerOptions {
  readonly config: AssertionConfig;
  /** The keys now; null while they are not loaded (a shared key being read from Redis). */
  readonly keys: () => AssertionKeySet | null;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** The provider's issuer, carried as `idp`. */
  readonly issuerOf: (provider: string) => string | undefined;
  readonly roles: (claims: Claims, provider: string) => readonly string[];
  readonly groups: (claims: Claims, provider: string) => readonly string[];
}

interface Entry {
  readonly value: string;
  readonly renewAt: number;
  /** Epoch seconds. */
  readonly exp: number;
  readonly kid: string;
}

/** Base64url of a 64-byte signature (ES256 in JOSE form, Ed25519). */
const SIGNATURE_CHARS = 86;
/** `,"iat":1234567890,"exp":1234567890,"jti":"<22>"` and the braces and commas around the claims, with room for longer times. */
const TIME_AND_ID_BYTES = 72;

export function createAssertionSigner(options: AssertionSignerOptions): AssertionSigner {
  const { config, now } = options;
  const issuer = config.issuer ?? "";
  const wanted = config.claims as readonly AssertionClaim[];
  const cache = new LRUCache<string, Entry>({ max: config.cacheMaxEntries });
  const headers = new WeakMap<AssertionKey, string>();
  let hits = 0;
  let misses = 0;

  /** JSON bytes the identity may take for `audience` under maxBytes. */
  function identityBudget(key: AssertionKey, audience: string): number {
    const headerChars = protectedHeader(key).length;
    const payloadChars = config.maxBytes - headerChars - SIGNATURE_CHARS - 2;
    const fixed = Buffer.byteLength(JSON.stringify({ iss: issuer, aud: audience })) + TIME_AND_ID_BYTES;
    return Math.floor((payloadChars * 3) / 4) - fixed;
  }

  function protectedHeader(key: AssertionKey): string {
    let header = headers.get(key);
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: "JWT" })).toString("base64url");
      headers.set(key, header);
    }
    return header;
  }

  function signed(key: AssertionKey, payload: string): string {
    const input = `${protectedHeader(key)}.${Buffer.from(payload).toString("base64url")}`;
    const data = Buffer.from(input);
    const signature =
      key.alg === "ES256"
        ? sign("sha256", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" })
        : sign(null, data, key.privateKey);
    return `${input}.${signature.toString("base64url")}`;
  }

  return {
    header: config.header,
    stats: () => ({ hits, misses }),
    issue(claims, provider, machine, audience) {
      const keys = options.keys();
      if (keys === null) return { refused: "keys_not_loaded" };
      const key = keys.signing;
      const identity = assertionIdentity(
        wanted,
        {
          claims,
          machine,
          idp: options.issuerOf(provider),
          roles: () => options.roles(claims, provider),
          groups: () => options.groups(claims, provider),
        },
        identityBudget(key, audience),
      );
      if (identity === null) return { refused: "identity_too_large" };
      const at = now();
      const seconds = Math.floor(at / 1000);
      const exp = Math.min(seconds + config.ttlSeconds, credentialEnd(claims, seconds));
      const cacheKey = `${audience}\n${JSON.stringify(identity)}`;
      const kept = cache.get(cacheKey);
      // A kept one serves while young, signed by today's key, and never past this credential's end.
      if (kept !== undefined && at < kept.renewAt && kept.exp <= exp && kept.kid === key.kid) {
        hits++;
        return kept;
      }
      misses++;
      const jti = randomBytes(16).toString("base64url");
      const value = signed(key, JSON.stringify({ iss: issuer, aud: audience, ...identity, iat: seconds, exp, jti }));
      const entry: Entry = { value, renewAt: at + Math.max(0, exp * 1000 - at) / 2, exp, kid: key.kid };
      cache.set(cacheKey, entry);
      return entry;
    },
  };
}

/** The credential's `exp` when it is a sane future time, else none (the assertion's own ttl bounds it). */
function credentialEnd(claims: Claims, seconds: number): number {
  const exp = claims["exp"];
  // Within the verifier's clock tolerance a credential may be a moment past its exp: one second more.
  return typeof exp === "number" && Number.isFinite(exp) ? Math.max(Math.floor(exp), seconds + 1) : Infinity;
}
