// The browser side of Portcullis: reads and refreshes sealed session cookies for the Check path,
// starts logins (302 to the IdP with a per-login transaction cookie), completes them on the
// callback, and signs out. Stateless: everything lives in sealed cookies, so there is no session
// count to report and any replica can serve any browser.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ProviderConfig, SessionConfig } from "../config/PortcullisConfig.ts";
import { LoginError } from "../oidc/LoginError.ts";
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";
import { createCookieSealer } from "../session/createCookieSealer.ts";
import { createLoginTransactionCookies } from "../session/createLoginTransactionCookies.ts";
import { parseCookieHeader } from "../session/parseCookieHeader.ts";
import { createRedirectPolicy } from "../session/createRedirectPolicy.ts";
import { createSessionCookies } from "../session/createSessionCookies.ts";
import type { LoginTransaction } from "../session/LoginTransaction.ts";
import { parseSession, type Session } from "../session/Session.ts";
import { SessionTooLargeError } from "../session/SessionTooLargeError.ts";
import { composeSessionClaims } from "./composeSessionClaims.ts";

/** Tokens from a code exchange or a refresh, as the login client returns them. */
export interface TokenResult {
  readonly idTokenClaims: Readonly<Record<string, unknown>> | null;
  readonly idToken: string | null;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | null;
  readonly scope: string | null;
}

/** What the Check path and the callback need from a provider's OIDC client (src/oidc/createLoginClient). */
export interface LoginClientPort {
  begin(params: { returnTo: string; acrValues?: readonly string[]; maxAge?: number; prompt?: string }): Promise<{ url: string; transaction: LoginTransaction }>;
  complete(params: URLSearchParams, transaction: LoginTransaction): Promise<TokenResult>;
  refresh(refreshToken: string, expected: { sub: string }): Promise<TokenResult>;
  endSessionUrl(params: { idTokenHint: string | null; postLogoutRedirectUri: string | null }): string | null;
}

export interface LoginEvents {
  loginStarted(provider: string): void;
  loginCompleted(provider: string): void;
  loginFailed(provider: string | null, reason: string): void;
  refreshed(provider: string, result: "ok" | "ended" | "unavailable"): void;
}

export interface BrowserSessionsOptions {
  readonly session: SessionConfig;
  readonly providers: readonly ProviderConfig[];
  /** The provider's login client once its discovery and keys are loaded; null before. */
  readonly loginClient: (provider: string) => LoginClientPort | null;
  /** Verifies an access token from the IdP as a bearer token of that provider (for its claims). */
  readonly verifyAccessToken: (token: string, provider: string) => Promise<VerifyOutcome>;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly events?: LoginEvents;
  readonly logger?: { warn(obj: object, msg: string): void };
}

export type SessionLoad =
  | { readonly kind: "none" }
  /** Cookies of ours that cannot be used (tampered, expired, foreign key, provider gone): clear them. */
  | { readonly kind: "invalid"; readonly clear: readonly string[] }
  | { readonly kind: "session"; readonly session: Session; readonly present: readonly string[] };

export type Freshness =
  | { readonly kind: "fresh"; readonly session: Session; readonly setCookies: readonly string[] }
  | { readonly kind: "ended"; readonly clear: readonly string[]; readonly reason: string }
  | { readonly kind: "unavailable"; readonly reason: string };

export interface StepUp {
  readonly acrValues: readonly string[] | null;
  readonly maxAge: number | null;
}

export type LoginStart = { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] } | { readonly kind: "unavailable" };

export type CallbackOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | {
      readonly kind: "error";
      readonly status: 400 | 502 | 503;
      readonly reason: string;
      /** Public text for the error page (escaped by the page renderer). */
      readonly message: string;
      readonly retry: string | null;
      readonly setCookies: readonly string[];
      readonly detail: string;
    };

export type SignOutOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | { readonly kind: "refused"; readonly message: string };

/** A failed refresh because the IdP was unreachable is not retried by every request for this long. */
const REFRESH_BACKOFF_MS = 15_000;
/** The login client hands one refresh's final outcome to every request with that refresh token for a minute. */
const REFRESH_SHARED_MS = 60_000;
/** Unsealed sessions kept (keyed by a digest of their cookies), each no longer than the session lives. */
const UNSEALED_SESSIONS_MAX = 10_000;
/** Callback states already used, so a replayed callback fails even with a copied cookie. */
const USED_STATES_MAX = 10_000;

/**
 * Cookie headers are read up to 48 KiB (Envoy's default request-header limit is 60 KiB), so a
 * session of SESSION_MAX_CHUNKS cookies (< 4 KB each) is read whole wherever it sits in the header.
 */
const COOKIE_LIMITS = { maxPairs: 200, maxBytes: 48 * 1024 };
const SESSION_MAX_CHUNKS = 8;

export interface BrowserSessions {
  /** The request's cookies, read with limits that fit a whole chunked session. */
  parseCookies(header: string | undefined): Map<string, string>;
  /** Every cookie of ours starts with this: a Cookie header without it needs no parsing. */
  readonly cookiePrefix: string;
  /** Whether a cookie name is one of ours (session chunks, login transactions): never sent upstream. */
  owns(name: string): boolean;
  load(cookies: ReadonlyMap<string, string>): SessionLoad;
  freshen(session: Session, present: readonly string[]): Promise<Freshness>;
  /** The provider a login on a route goes to: the route's first provider with a client, else the first configured one. */
  loginProviderFor(routeProviders: readonly string[]): string | null;
  startLogin(
    target: { scheme: string; host: string; path: string },
    provider: string,
    cookies: ReadonlyMap<string, string>,
    stepUp?: StepUp,
  ): Promise<LoginStart>;
  /** `/oauth2/start?rd=…`: a login the page asks for explicitly; rd must pass the redirect policy. */
  startLoginAt(rd: string | null, cookies: ReadonlyMap<string, string>): Promise<LoginStart | { kind: "refused"; message: string }>;
  completeLogin(query: URLSearchParams, cookies: ReadonlyMap<string, string>): Promise<CallbackOutcome>;
  signOut(cookies: ReadonlyMap<string, string>, rd: string | null): SignOutOutcome;
  /** Origins a sign-out POST may come from: every login origin and every allowed origin. */
  isTrustedOrigin(origin: string): boolean;
}

export function createBrowserSessions(options: BrowserSessionsOptions): BrowserSessions {
  const { session: config } = options;
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const events = options.events;
  const providers = new Map(options.providers.map((p) => [p.name, p]));
  const loginProviders = options.providers.filter((p) => p.clientId !== null && p.redirectUri !== null);
  const loginOrigins = new Map(loginProviders.map((p) => [p.name, new URL(p.redirectUri as string).origin]));
  const defaultOrigin = loginOrigins.values().next().value as string;
  const trustedOrigins = new Set([...loginOrigins.values(), ...config.allowedRedirectOrigins]);

  const sessionCookies = createSessionCookies({
    name: config.cookieName,
    domain: config.cookieDomain,
    sealer: createCookieSealer({ keys: config.keys, purpose: "portcullis-session" }),
    maxChunks: SESSION_MAX_CHUNKS,
  });
  const loginCookies = createLoginTransactionCookies({
    prefix: `${config.cookieName}-login`,
    domain: config.cookieDomain,
    sealer: createCookieSealer({ keys: config.keys, purpose: "portcullis-login" }),
    ttlSeconds: config.loginTimeoutSeconds,
    maxPending: config.maxPendingLogins,
  });
  const redirects = createRedirectPolicy({ allowedOrigins: config.allowedRedirectOrigins });
  const usedStates = new LRUCache<string, true>({ max: USED_STATES_MAX, ttl: config.loginTimeoutSeconds * 1000 });
  const refreshBackoff = new LRUCache<string, true>({ max: 10_000, ttl: REFRESH_BACKOFF_MS });
  const unsealed = new LRUCache<string, { session: Session; present: readonly string[] }>({ max: UNSEALED_SESSIONS_MAX });
  // The refresh metric counts refreshes, not the requests that shared one (ten parallel requests, one IdP call).
  const countedRefreshes = new LRUCache<string, true>({ max: 10_000, ttl: REFRESH_SHARED_MS });
  const countRefresh = (provider: string, result: "ok" | "ended", key: string) => {
    if (countedRefreshes.has(key)) return;
    countedRefreshes.set(key, true);
    events?.refreshed(provider, result);
  };

  function owns(name: string): boolean {
    return sessionCookies.owns(name) || loginCookies.owns(name);
  }

  function load(cookies: ReadonlyMap<string, string>): SessionLoad {
    const t = nowSeconds();
    // The same cookie bytes unseal to the same session: a hit skips the decryption and hands back
    // the same claims object, so the gate reuses its identity headers too. Expiry and the provider
    // are checked again on every request; a tampered cookie has other bytes and misses.
    const cacheKey = sessionCacheKey(cookies);
    if (cacheKey === null) return { kind: "none" };
    const cached = unsealed.get(cacheKey);
    if (cached !== undefined) return checkedSession(cached.session, cached.present, t);
    const read = sessionCookies.read(cookies, t);
    if (read.present.length === 0) return { kind: "none" };
    const session = read.payload === null ? null : parseSession(read.payload);
    if (session === null) return { kind: "invalid", clear: sessionCookies.clear(read.present) };
    const loaded = checkedSession(session, read.present, t);
    if (loaded.kind === "session") unsealed.set(cacheKey, { session, present: read.present }, { ttl: (session.expiresAt - t) * 1000 });
    return loaded;
  }

  function checkedSession(session: Session, present: readonly string[], t: number): SessionLoad {
    const provider = providers.get(session.provider);
    // A session from a provider that was removed or whose issuer changed is no longer vouched for.
    if (provider === undefined || provider.issuer !== session.iss || session.expiresAt <= t) {
      return { kind: "invalid", clear: sessionCookies.clear(present) };
    }
    return { kind: "session", session, present };
  }

  /** A digest of every session cookie of ours (names and values), or null when there is none. */
  function sessionCacheKey(cookies: ReadonlyMap<string, string>): string | null {
    const ours: string[] = [];
    for (const [name, value] of cookies) if (sessionCookies.owns(name)) ours.push(`${name}=${value}`);
    if (ours.length === 0) return null;
    ours.sort();
    return hashOf(ours.join(";"));
  }

  async function freshen(session: Session, present: readonly string[]): Promise<Freshness> {
    const t = nowSeconds();
    const remaining = session.accessTokenExpiresAt - t;
    // Never more than half the token's own lifetime: with 5-minute tokens (Keycloak's default) a
    // 5-minute window would refresh on every request.
    const lifetime = session.accessTokenExpiresAt - session.accessTokenIssuedAt;
    const window = Math.min(config.refreshWindowSeconds, Math.floor(lifetime / 2));
    if (remaining > window) return { kind: "fresh", session, setCookies: [] };
    const stillValid = remaining > 0;
    if (session.refreshToken === null) {
      return stillValid
        ? { kind: "fresh", session, setCookies: [] }
        : { kind: "ended", clear: sessionCookies.clear(present), reason: "access token expired and there is no refresh token" };
    }
    const backoffKey = hashOf(session.refreshToken);
    const client = options.loginClient(session.provider);
    if (client === null || refreshBackoff.has(backoffKey)) {
      return stillValid ? { kind: "fresh", session, setCookies: [] } : { kind: "unavailable", reason: "provider not ready for refresh" };
    }
    try {
      const tokens = await client.refresh(session.refreshToken, { sub: session.sub });
      const refreshed = await buildSession(session.provider, tokens, session);
      countRefresh(session.provider, "ok", backoffKey);
      return { kind: "fresh", session: refreshed, setCookies: sessionCookies.write(refreshed, refreshed.expiresAt, present, t) };
    } catch (error) {
      if (error instanceof LoginError && error.code === "token_endpoint_unavailable") {
        // Requests that shared the failed call count it once; a retry after the backoff counts again.
        if (!refreshBackoff.has(backoffKey)) events?.refreshed(session.provider, "unavailable");
        refreshBackoff.set(backoffKey, true);
        // The current access token still works: let this request through and try again later.
        if (stillValid) return { kind: "fresh", session, setCookies: [] };
        return { kind: "unavailable", reason: error.message };
      }
      countRefresh(session.provider, "ended", backoffKey);
      const reason = error instanceof LoginError ? `refresh failed: ${error.code}` : `refresh failed: ${describe(error)}`;
      return { kind: "ended", clear: sessionCookies.clear(present), reason };
    }
  }

  /** A session from fresh tokens; `previous` keeps what a refresh does not resend (ID token, auth time). */
  async function buildSession(provider: string, tokens: TokenResult, previous: Session | null): Promise<Session> {
    const config_ = providers.get(provider) as ProviderConfig;
    // The access token's claims are a bonus (roles, scope); a verifier that cannot answer right now
    // (introspection down) must not throw away tokens the IdP has already issued.
    const verified = await options.verifyAccessToken(tokens.accessToken, provider).catch(() => null);
    const accessClaims = verified?.ok === true ? verified.claims : null;
    const idClaims = tokens.idTokenClaims;
    const sub = previous?.sub ?? (typeof idClaims?.["sub"] === "string" ? idClaims["sub"] : null);
    if (sub === null) throw new LoginError("id_token_invalid", "the ID token has no sub");
    const claims = composeSessionClaims({
      sub,
      idTokenClaims: idClaims,
      accessTokenClaims: accessClaims,
      previous: previous?.claims ?? null,
      scope: tokens.scope,
      accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    });
    const authTime = typeof idClaims?.["auth_time"] === "number" ? idClaims["auth_time"] : (previous?.authTime ?? null);
    const t = nowSeconds();
    return {
      v: 1,
      id: previous?.id ?? randomId(),
      provider,
      iss: config_.issuer,
      sub,
      claims,
      accessToken: tokens.accessToken,
      accessTokenExpiresAt: tokens.accessTokenExpiresAt,
      accessTokenIssuedAt: Math.min(t, tokens.accessTokenExpiresAt),
      refreshToken: tokens.refreshToken ?? previous?.refreshToken ?? null,
      idToken: tokens.idToken ?? previous?.idToken ?? null,
      authTime,
      createdAt: previous?.createdAt ?? t,
      expiresAt: previous?.expiresAt ?? t + config.lifetimeSeconds,
    };
  }

  function loginProviderFor(routeProviders: readonly string[]): string | null {
    if (routeProviders.length === 0) return loginProviders[0]?.name ?? null;
    for (const name of routeProviders) if (loginOrigins.has(name)) return name;
    return null;
  }

  async function begin(provider: string, returnTo: string, cookies: ReadonlyMap<string, string>, stepUp?: StepUp): Promise<LoginStart> {
    const client = options.loginClient(provider);
    if (client === null) return { kind: "unavailable" };
    const params: { returnTo: string; acrValues?: readonly string[]; maxAge?: number; prompt?: string } = { returnTo };
    if (stepUp?.acrValues) params.acrValues = stepUp.acrValues;
    if (stepUp?.maxAge !== null && stepUp?.maxAge !== undefined) params.maxAge = stepUp.maxAge;
    // A step-up must really authenticate again, not reuse the IdP session that fell short.
    if (stepUp !== undefined) params.prompt = "login";
    const { url, transaction } = await client.begin(params);
    const setCookies = loginCookies.issue(transaction, cookies, nowSeconds());
    events?.loginStarted(provider);
    return { kind: "redirect", location: url, setCookies };
  }

  async function startLogin(
    target: { scheme: string; host: string; path: string },
    provider: string,
    cookies: ReadonlyMap<string, string>,
    stepUp?: StepUp,
  ): Promise<LoginStart> {
    const origin = loginOrigins.get(provider) ?? defaultOrigin;
    // The page asked for, on the login origin or an allowed origin with that host name; the login
    // origin's root otherwise. The host is the client's :authority without its port, so it only
    // picks among configured origins and never becomes one by itself.
    const base = [origin, ...config.allowedRedirectOrigins].find((candidate) => hostnameOf(candidate) === target.host);
    const path = target.path.startsWith("/") ? target.path : "/";
    const returnTo = (base === undefined ? null : redirects.resolve(path, base)) ?? `${origin}/`;
    return begin(provider, returnTo, cookies, stepUp);
  }

  async function startLoginAt(rd: string | null, cookies: ReadonlyMap<string, string>) {
    const provider = loginProviders[0]?.name;
    if (provider === undefined) return { kind: "refused" as const, message: "browser login is not configured" };
    const origin = loginOrigins.get(provider) as string;
    const returnTo = redirects.resolve(rd ?? "/", origin);
    if (returnTo === null) return { kind: "refused" as const, message: "the return address is not allowed" };
    return begin(provider, returnTo, cookies);
  }

  async function completeLogin(query: URLSearchParams, cookies: ReadonlyMap<string, string>): Promise<CallbackOutcome> {
    const fail = (status: 400 | 502 | 503, reason: string, message: string, detail: string, provider: string | null, retry: string | null, setCookies: readonly string[] = []): CallbackOutcome => {
      events?.loginFailed(provider, reason);
      return { kind: "error", status, reason, message, retry, setCookies, detail };
    };
    const state = query.get("state");
    if (state === null || state.length === 0 || state.length > 512) {
      const idpError = query.get("error");
      if (idpError !== null) return fail(400, "idp_error", "The identity provider did not sign you in.", "error response without state", null, "/");
      return fail(400, "state_missing", "This sign-in link is incomplete or has expired.", "callback without state", null, "/");
    }
    const { txn, clear } = loginCookies.take(state, cookies, nowSeconds());
    if (txn === null) {
      return fail(400, "state_mismatch", "This sign-in attempt is unknown or has expired. Please try again.", "no pending login matches the state", null, "/", clear);
    }
    if (usedStates.has(state)) {
      return fail(400, "callback_replayed", "This sign-in attempt was already used. Please try again.", "state already used", txn.provider, txn.returnTo, clear);
    }
    usedStates.set(state, true);
    const client = options.loginClient(txn.provider);
    if (client === null) {
      return fail(503, "idp_unavailable", "The identity provider is not reachable right now. Please try again shortly.", "provider not ready", txn.provider, txn.returnTo, clear);
    }
    try {
      const tokens = await client.complete(query, txn);
      // A step-up login must bring the level it asked for; otherwise the page would send the
      // browser straight back to the IdP, round and round.
      const acr = tokens.idTokenClaims?.["acr"];
      if (txn.acrValues !== undefined && txn.acrValues.length > 0 && (typeof acr !== "string" || !txn.acrValues.includes(acr))) {
        return fail(400, "acr_not_met", "The identity provider did not confirm the stronger sign-in this page needs.", "the ID token's acr is not one of the acr_values asked for", txn.provider, null, clear);
      }
      const session = await buildSession(txn.provider, tokens, null);
      const present = sessionCookies.read(cookies, nowSeconds()).present;
      const setCookies = [...clear, ...sessionCookies.write(session, session.expiresAt, present, nowSeconds())];
      const origin = loginOrigins.get(txn.provider) ?? defaultOrigin;
      events?.loginCompleted(txn.provider);
      return { kind: "redirect", location: redirects.resolve(txn.returnTo, origin) ?? `${origin}/`, setCookies };
    } catch (error) {
      if (error instanceof LoginError) {
        if (error.code === "idp_error") {
          return fail(400, "idp_error", `The identity provider did not sign you in${error.idpError ? ` (${error.idpError})` : ""}.`, error.message, txn.provider, txn.returnTo, clear);
        }
        if (error.code === "token_endpoint_unavailable") {
          return fail(503, error.code, "The identity provider is not reachable right now. Please try again shortly.", error.message, txn.provider, txn.returnTo, clear);
        }
        if (error.code === "token_endpoint_error") {
          return fail(502, error.code, "The identity provider refused to complete the sign-in.", error.message, txn.provider, txn.returnTo, clear);
        }
        return fail(400, error.code, "The sign-in response could not be accepted. Please try again.", error.message, txn.provider, txn.returnTo, clear);
      }
      if (error instanceof SessionTooLargeError) {
        return fail(502, "session_too_large", "Your identity is too large to keep in a session cookie.", error.message, txn.provider, null, clear);
      }
      return fail(503, "internal_error", "The sign-in could not be completed. Please try again.", describe(error), txn.provider, txn.returnTo, clear);
    }
  }

  function signOut(cookies: ReadonlyMap<string, string>, rd: string | null): SignOutOutcome {
    const loaded = load(cookies);
    const session = loaded.kind === "session" ? loaded.session : null;
    const origin = (session && loginOrigins.get(session.provider)) ?? defaultOrigin;
    const target = redirects.resolve(rd ?? config.postLogoutRedirect, origin);
    if (target === null) return { kind: "refused", message: "the return address is not allowed" };
    const present = sessionCookies.read(cookies, nowSeconds()).present;
    const setCookies = sessionCookies.clear(present);
    if (session !== null) {
      const client = options.loginClient(session.provider);
      const endSession = client?.endSessionUrl({ idTokenHint: session.idToken, postLogoutRedirectUri: target }) ?? null;
      if (endSession !== null) return { kind: "redirect", location: endSession, setCookies };
    }
    return { kind: "redirect", location: target, setCookies };
  }

  function describe(error: unknown): string {
    if (error instanceof Error) {
      const code = (error as { code?: unknown }).code;
      return `unexpected ${error.name}${typeof code === "string" ? ` (${code})` : ""}`;
    }
    return "unexpected non-error fault";
  }

  return {
    parseCookies: (header) => parseCookieHeader(header, COOKIE_LIMITS),
    cookiePrefix: config.cookieName,
    owns,
    load,
    freshen,
    loginProviderFor,
    startLogin,
    startLoginAt,
    completeLogin,
    signOut,
    isTrustedOrigin: (origin) => trustedOrigins.has(origin),
  };
}

function hostnameOf(origin: string): string {
  return new URL(origin).hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

function hashOf(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

function randomId(): string {
  return crypto.randomUUID();
}
