// RFC 7662 token introspection for one provider: POSTs an opaque token to the introspection endpoint
// with client authentication and answers with the same VerifyOutcome the JWT path gives. Results are
// cached by SHA-256 of the token, never past `exp`; concurrent lookups of one token share one call;
// any endpoint problem throws VerifierFault (the gate answers 503) — an unreachable IdP never allows.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { MAX_TOKEN_LENGTH } from "./compactJwt.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import { judgeIntrospection, type IntrospectionRules, type IntrospectionVerdict } from "./judgeIntrospection.ts";
import { introspectionEndpointOf, postIntrospection, type IntrospectionEndpointOptions } from "./postIntrospection.ts";
import { traceIdpCall, type IdpCallObserver } from "./traceIdpCall.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

/** What one introspect() call came to; "cache_hit" = answered without an HTTP call of its own. */
export type IntrospectionResult = "active" | "inactive" | "error" | "cache_hit";

export interface IntrospectionObserver {
  introspection(provider: string, result: IntrospectionResult): void;
  /** How long one introspection request took and how it ended. */
  idpCall?: IdpCallObserver;
}

/** The endpoint and client authentication (IntrospectionEndpointOptions), and how answers are judged and cached. */
export interface IntrospectorOptions extends IntrospectionEndpointOptions {
  /** The longest an answer is trusted; inactive answers at most min(this, 30 s). 0 = no cache. */
  readonly cacheTtlSeconds: number;
  readonly maxEntries: number;
  readonly clockToleranceSeconds: number;
  /** When the answer carries `aud`, one of its values must be one of these. */
  readonly audiences: readonly string[];
  /**
   * An active answer must name one of `audiences` (absent `aud` = refused), as a JWT must; default
   * true. With `audienceClaim: client_id` the answer's `client_id` is checked instead (Cognito).
   */
  readonly requireAudience?: boolean;
  readonly audienceClaim?: "aud" | "client_id";
  /** When the answer carries `iss`, it must equal this (or be accepted by `issuers`). */
  readonly issuer: string;
  /** The provider's issuer policy (aliases, tenant templates); default: `issuer` alone. */
  readonly issuers?: IssuerPolicy;
  /** The provider's access-token type rules, as on the JWT path: claims with exact values (`typ: Bearer`, `token_use: access`). */
  readonly accessTokenClaims?: Readonly<Record<string, string>>;
  /** RFC 9068: an introspected JWT's header `typ` must be `at+jwt` (an opaque token has no header). */
  readonly requireAccessTokenType?: boolean;
  /** The provider's ID tokens are its bearer credential (Google): see refuseNonAccessTokens. */
  readonly idTokensAreBearer?: boolean;
  /** The provider's lifetime and subject limits (checkTokenLimits), as on the JWT path. */
  readonly tokenLimits?: Pick<ProviderConfig, "maxTokenLifetimeSeconds" | "subjects">;
  /** Permits an http:// endpoint (development only: the token and client secret cross in clear). */
  readonly allowInsecureHttp?: boolean;
  /** Epoch milliseconds; drives time claims and the cache. */
  readonly now?: () => number;
  readonly observer?: IntrospectionObserver;
}

export interface Introspector {
  /** A denial value for every token problem; rejects only with VerifierFault. */
  introspect(token: string): Promise<VerifyOutcome>;
  cacheSize(): number;
}

/** A revocation reaches us no later than this, whatever the configured TTL. */
const MAX_DENIAL_CACHE_SECONDS = 30;

/** RFC 6750 §2.1 b64token: anything else is not a bearer token and is not worth an IdP call. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function createIntrospector(options: IntrospectorOptions): Introspector {
  validateOptions(options);
  const { providerName: provider, observer } = options;
  const now = options.now ?? Date.now;
  const target = introspectionEndpointOf(options);
  const rules = introspectionRulesOf(options);
  const cache = new LRUCache<string, IntrospectionVerdict>({
    max: options.maxEntries,
    perf: { now },
    ttlResolution: 0,
  });
  /** One HTTP call per token at a time; bounded by the number of distinct tokens in flight. */
  const inflight = new Map<string, Promise<VerifyOutcome>>();

  async function lookup(token: string, key: string): Promise<VerifyOutcome> {
    let answer: Record<string, unknown>;
    try {
      answer = await traceIdpCall(
        "introspection",
        provider,
        "POST",
        target.endpoint,
        async (notes) => {
          const answered = await postIntrospection(target, token);
          notes.set("portcullis.result", answered["active"] === true ? "active" : "inactive");
          return answered;
        },
        observer?.idpCall,
      );
    } catch (err) {
      observer?.introspection(provider, "error");
      throw err; // faults are never cached
    }
    observer?.introspection(provider, answer["active"] === true ? "active" : "inactive");
    const nowMs = now();
    const entry = judgeIntrospection(rules, answer, token, nowMs);
    const ttl = Math.floor(entry.until - nowMs);
    if (ttl >= 1) cache.set(key, entry, { ttl });
    return entry.outcome;
  }

  return {
    introspect(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
        return Promise.resolve<VerifyOutcome>({
          ok: false,
          code: "token_malformed",
          provider,
          detail: "not an RFC 6750 bearer token",
        });
      }
      const key = hash("sha256", token, "base64url");
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now()) {
        observer?.introspection(provider, "cache_hit");
        return Promise.resolve(hit.outcome);
      }
      const pending = inflight.get(key);
      if (pending !== undefined) {
        observer?.introspection(provider, "cache_hit");
        return pending;
      }
      const started = lookup(token, key).finally(() => inflight.delete(key));
      inflight.set(key, started);
      return started;
    },
    cacheSize: () => cache.size,
  };
}

function introspectionRulesOf(options: IntrospectorOptions): IntrospectionRules {
  return {
    provider: options.providerName,
    audiences: new Set(options.audiences),
    requireAudience: options.requireAudience !== false,
    audienceClaim: options.audienceClaim,
    issuers: options.issuers ?? createIssuerPolicy({ issuer: options.issuer }),
    formRules: { idTokensAreBearer: options.idTokensAreBearer === true },
    accessTokenClaims: options.accessTokenClaims,
    requireAccessTokenType: options.requireAccessTokenType === true,
    toleranceSeconds: options.clockToleranceSeconds,
    tokenLimits: options.tokenLimits ?? {},
    trustMs: options.cacheTtlSeconds * 1000,
    denialTrustMs: Math.min(options.cacheTtlSeconds, MAX_DENIAL_CACHE_SECONDS) * 1000,
  };
}

/** Mistakes the config parser should already have caught: fail at start-up, never per request. */
function validateOptions(options: IntrospectorOptions): void {
  const where = `introspection for provider ${JSON.stringify(options.providerName)}`;
  const { endpoint } = options;
  if (!(endpoint instanceof URL)) throw new TypeError(`${where}: endpoint must be a URL`);
  if (endpoint.protocol !== "https:" && !(endpoint.protocol === "http:" && options.allowInsecureHttp === true)) {
    throw new TypeError(`${where}: endpoint must be https (or http with allowInsecureHttp)`);
  }
  if (endpoint.username !== "" || endpoint.password !== "")
    throw new TypeError(`${where}: endpoint must not carry credentials`);
  if (options.clientId === "" || options.clientSecret === "")
    throw new TypeError(`${where}: clientId and clientSecret are required`);
  if (options.authMethod !== "client_secret_basic" && options.authMethod !== "client_secret_post") {
    throw new TypeError(`${where}: authMethod must be client_secret_basic or client_secret_post`);
  }
  if (!(options.timeoutMs > 0) || !Number.isFinite(options.timeoutMs))
    throw new TypeError(`${where}: timeoutMs must be a positive number`);
  if (!(options.cacheTtlSeconds >= 0) || !Number.isFinite(options.cacheTtlSeconds)) {
    throw new TypeError(`${where}: cacheTtlSeconds must be a non-negative number`);
  }
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1)
    throw new TypeError(`${where}: maxEntries must be a positive integer`);
  if (!(options.clockToleranceSeconds >= 0) || !Number.isFinite(options.clockToleranceSeconds)) {
    throw new TypeError(`${where}: clockToleranceSeconds must be a non-negative number`);
  }
  if (options.audiences.length === 0) throw new TypeError(`${where}: audiences must not be empty`);
  if (options.issuer === "") throw new TypeError(`${where}: issuer is required`);
}
