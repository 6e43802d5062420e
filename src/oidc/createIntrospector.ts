// RFC 7662 token introspection for one provider: POSTs an opaque token to the introspection endpoint
// with client authentication and answers with the same VerifyOutcome the JWT path gives. Results are
// cached by SHA-256 of the token, never past `exp`; concurrent lookups of one token share one call;
// any endpoint problem throws VerifierFault (the gate answers 503) — an unreachable IdP never allows.
import { hash } from "node:crypto";
import type { JWTPayload } from "jose";
import { LRUCache } from "lru-cache";
import { deepFreeze } from "../config/deepFreeze.ts";
import { BoundedFetchError, boundedFetch, redactUrl, type FetchLike } from "./boundedFetch.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { checkAccessTokenType } from "./checkAccessTokenType.ts";
import { compactShapeProblem, MAX_TOKEN_LENGTH } from "./compactJwt.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import { refuseNonAccessTokens } from "./refuseNonAccessTokens.ts";
import type { TokenErrorCode } from "../errors/ErrorCode.ts";
import { traceIdpCall } from "./traceIdpCall.ts";
import { VerifierFault } from "./VerifierFault.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

export type IntrospectionAuthMethod = "client_secret_basic" | "client_secret_post";

/** What one introspect() call came to; "cache_hit" = answered without an HTTP call of its own. */
export type IntrospectionResult = "active" | "inactive" | "error" | "cache_hit";

export interface IntrospectionObserver {
  introspection(provider: string, result: IntrospectionResult): void;
}

export interface IntrospectorOptions {
  readonly providerName: string;
  /** From discovery (`introspection_endpoint`) or configured. https unless allowInsecureHttp. */
  readonly endpoint: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: IntrospectionAuthMethod;
  readonly timeoutMs: number;
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
  /** Permits an http:// endpoint (development only: the token and client secret cross in clear). */
  readonly allowInsecureHttp?: boolean;
  readonly fetch?: FetchLike;
  /** Epoch milliseconds; drives time claims and the cache. */
  readonly now?: () => number;
  readonly observer?: IntrospectionObserver;
}

export interface Introspector {
  /** A denial value for every token problem; rejects only with VerifierFault. */
  introspect(token: string): Promise<VerifyOutcome>;
  cacheSize(): number;
}

/** Code for `active: false`: revoked, expired or unknown to the provider. */
export const INACTIVE_TOKEN_CODE: TokenErrorCode = "token_inactive";

/** A revocation reaches us no later than this, whatever the configured TTL. */
const MAX_DENIAL_CACHE_SECONDS = 30;

/** RFC 6750 §2.1 b64token: anything else is not a bearer token and is not worth an IdP call. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Claims that, when present, must be strings for requirements and headers to read them safely. */
const STRING_CLAIMS = ["sub", "client_id", "scope", "username", "token_type", "azp"] as const;

interface CacheEntry {
  readonly outcome: VerifyOutcome;
  /** epoch ms; the entry is not used at or after this instant. */
  readonly until: number;
}

export function createIntrospector(options: IntrospectorOptions): Introspector {
  validateOptions(options);
  const { providerName: provider, endpoint, clockToleranceSeconds: tolerance, observer } = options;
  const fetchImpl: FetchLike = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const where = redactUrl(endpoint);
  const trustMs = options.cacheTtlSeconds * 1000;
  const denialTrustMs = Math.min(options.cacheTtlSeconds, MAX_DENIAL_CACHE_SECONDS) * 1000;
  const audiences = new Set(options.audiences);
  const requireAudience = options.requireAudience !== false;
  const issuers = options.issuers ?? createIssuerPolicy({ issuer: options.issuer });
  const formRules = { idTokensAreBearer: options.idTokensAreBearer === true };
  const authorization =
    options.authMethod === "client_secret_basic"
      ? `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString("base64")}`
      : undefined;

  const cache = new LRUCache<string, CacheEntry>({ max: options.maxEntries, perf: { now }, ttlResolution: 0 });
  /** One HTTP call per token at a time; bounded by the number of distinct tokens in flight. */
  const inflight = new Map<string, Promise<VerifyOutcome>>();

  function deny(code: TokenErrorCode, detail: string): VerifyOutcome {
    return { ok: false, code, provider, detail };
  }

  /** The endpoint's JSON object, or a VerifierFault with a log-safe message. */
  async function call(token: string): Promise<Record<string, unknown>> {
    const body = new URLSearchParams({ token, token_type_hint: "access_token" });
    if (options.authMethod === "client_secret_post") {
      body.set("client_id", options.clientId);
      body.set("client_secret", options.clientSecret);
    }
    const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
    if (authorization !== undefined) headers.set("authorization", authorization);
    // boundedFetch brings the timeout, no redirects and the body cap; it issues GETs, so the
    // method and form body are put on here.
    const post: FetchLike = (url, init) => fetchImpl(url, { ...init, method: "POST", body });
    let text: string;
    try {
      text = await boundedFetch(post, endpoint, {
        signal: AbortSignal.timeout(options.timeoutMs),
        timeoutMs: options.timeoutMs,
        accept: "application/json",
        headers,
      });
    } catch (err) {
      const message = err instanceof BoundedFetchError ? err.message.replace(/^GET /, "POST ") : `POST ${where} failed`;
      throw new VerifierFault(`token introspection for provider "${provider}": ${message}`, {
        cause: err,
        unavailable: true,
      });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // No cause: JSON.parse quotes the body, which may echo the token.
      throw new VerifierFault(
        `token introspection for provider "${provider}": POST ${where} answered a body that is not JSON`,
      );
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      throw new VerifierFault(
        `token introspection for provider "${provider}": POST ${where} answered JSON that is not an object`,
      );
    }
    const answer = doc as Record<string, unknown>;
    if (typeof answer["active"] !== "boolean") {
      throw new VerifierFault(
        `token introspection for provider "${provider}": POST ${where} answered without a boolean "active"`,
      );
    }
    return answer;
  }

  /** The outcome for an answer, and until when (epoch ms) that outcome may be reused. */
  function judge(answer: Record<string, unknown>, token: string, nowMs: number): CacheEntry {
    const jwt = compactShapeProblem(token) === undefined;
    const headerTyp = jwt ? headerTypOf(token) : undefined;
    const denied = (code: TokenErrorCode, detail: string, until = nowMs + denialTrustMs): CacheEntry => ({
      outcome: deny(code, `introspection: ${detail}`),
      until,
    });
    if (answer["active"] !== true) return denied(INACTIVE_TOKEN_CODE, "the provider says the token is not active");

    for (const name of STRING_CLAIMS) {
      if (answer[name] !== undefined && typeof answer[name] !== "string")
        return denied("claims_invalid", `"${name}" must be a string`);
    }
    // The same iss rule as a JWT's (aliases, tenant templates); RFC 7662 makes iss optional.
    const iss = answer["iss"];
    if (iss !== undefined) {
      if (typeof iss !== "string") return denied("claims_invalid", `"iss" must be a string`);
      if (issuers.check(answer) !== null) return denied("issuer_mismatch", `"iss" is not the provider's issuer`);
    }
    const aud = answer["aud"];
    if (aud !== undefined) {
      const values = typeof aud === "string" ? [aud] : aud;
      if (!Array.isArray(values) || !values.every((value) => typeof value === "string")) {
        return denied("claims_invalid", `"aud" must be a string or an array of strings`);
      }
      if (!values.some((value) => audiences.has(value)))
        return denied("audience_mismatch", `"aud" has none of the accepted audiences`);
    }
    if (requireAudience) {
      // Active only says the provider issued it: without our audience it may be another resource
      // server's token, replayed here by that server or anyone who saw it.
      if (options.audienceClaim === "client_id") {
        const clientId = answer["client_id"];
        if (typeof clientId !== "string" || !audiences.has(clientId))
          return denied("audience_mismatch", `"client_id" is none of the accepted audiences`);
      } else if (aud === undefined) {
        return denied(
          "audience_mismatch",
          `the answer has no "aud": the token may be for another resource server (introspection.requireAudience)`,
        );
      }
    }
    const tokenType = answer["token_type"];
    if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer") {
      return denied("type_not_allowed", `token_type ${JSON.stringify(tokenType.slice(0, 40))} is not a bearer token`);
    }
    const typeProblem =
      refuseNonAccessTokens(headerTyp, answer, formRules) ??
      checkAccessTokenType(
        {
          accessTokenClaims: options.accessTokenClaims,
          requireAccessTokenType: options.requireAccessTokenType === true,
        },
        { jwt, headerTyp },
        answer,
      );
    if (typeProblem !== null) return denied(typeProblem.code, typeProblem.detail);

    const nowSeconds = nowMs / 1000;
    const trustUntil = nowMs + trustMs;
    // RFC 7662 makes exp optional; without one the answer stands for the trust period only.
    const exp = answer["exp"] ?? Math.floor(trustUntil / 1000);
    const timeProblem = checkTimeClaims({ ...answer, exp } as JWTPayload, nowSeconds, tolerance);
    if (timeProblem !== undefined) return denied(timeProblem.code, timeProblem.detail);
    const expiresAt = exp as number; // checked by checkTimeClaims: a finite, sane NumericDate
    if (expiresAt <= nowSeconds - tolerance) return denied("token_expired", `"exp" has passed`);
    const nbf = answer["nbf"] as number | undefined;
    if (nbf !== undefined && nbf > nowSeconds + tolerance) {
      // Reusable only until the token becomes valid.
      return denied(
        "token_not_yet_valid",
        `"nbf" is in the future`,
        Math.min(nowMs + denialTrustMs, (nbf - tolerance) * 1000),
      );
    }
    return {
      outcome: { ok: true, provider, claims: deepFreeze({ ...answer }) as Readonly<JWTPayload>, expiresAt },
      // Never past exp, even though the clock tolerance still accepts the token a little longer.
      until: Math.min(trustUntil, expiresAt * 1000),
    };
  }

  async function lookup(token: string, key: string): Promise<VerifyOutcome> {
    let answer: Record<string, unknown>;
    try {
      answer = await traceIdpCall("introspection", provider, "POST", endpoint, async (notes) => {
        const answered = await call(token);
        notes.set("portcullis.result", answered["active"] === true ? "active" : "inactive");
        return answered;
      });
    } catch (err) {
      observer?.introspection(provider, "error");
      throw err; // faults are never cached
    }
    observer?.introspection(provider, answer["active"] === true ? "active" : "inactive");
    const nowMs = now();
    const entry = judge(answer, token, nowMs);
    const ttl = Math.floor(entry.until - nowMs);
    if (ttl >= 1) cache.set(key, entry, { ttl });
    return entry.outcome;
  }

  return {
    introspect(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
        return Promise.resolve(deny("token_malformed", "not an RFC 6750 bearer token"));
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

/** The JWS header's `typ` of a compact JWT (introspection.jwt); the provider vouched for the whole token. */
function headerTypOf(token: string): unknown {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
    return typeof header === "object" && header !== null ? (header as Record<string, unknown>)["typ"] : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64'd. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
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
