// The browser side of Portcullis: reads and refreshes sessions for the Check path, starts logins
// (302 to the IdP with a per-login transaction cookie), completes them on the callback, signs out,
// and ends sessions named by a back-channel logout. Where sessions live is the store's business
// (sealed cookies, or Redis behind a cookie); what ends them early is the revocation list's.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { ProviderConfig, SessionConfig } from "../config/PortcullisConfig.ts";
import { LoginError } from "../oidc/LoginError.ts";
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";
import type { LogoutClaims, LogoutTokenOutcome } from "../oidc/verifyLogoutToken.ts";
import { createCookieSealer } from "../session/createCookieSealer.ts";
import { createCookieSessionStore } from "../session/createCookieSessionStore.ts";
import { createLoginTransactionCookies } from "../session/createLoginTransactionCookies.ts";
import { parseCookieHeader } from "../session/parseCookieHeader.ts";
import { createRedirectPolicy } from "../session/createRedirectPolicy.ts";
import { createRevocationList, type RevocationList } from "../session/createRevocationList.ts";
import type { LoginTransaction } from "../session/LoginTransaction.ts";
import type { Session } from "../session/Session.ts";
import {
  SessionStoreUnavailableError,
  type RefreshRun,
  type SessionStore,
  type StoreLoad,
  type StoreRefresh,
} from "../session/SessionStore.ts";
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
  begin(params: {
    returnTo: string;
    acrValues?: readonly string[];
    maxAge?: number;
    prompt?: string;
  }): Promise<{ url: string; transaction: LoginTransaction }>;
  complete(params: URLSearchParams, transaction: LoginTransaction): Promise<TokenResult>;
  refresh(refreshToken: string, expected: { sub: string }): Promise<TokenResult>;
  endSessionUrl(params: { idTokenHint: string | null; postLogoutRedirectUri: string | null }): string | null;
}

export interface LoginEvents {
  loginStarted(provider: string): void;
  loginCompleted(provider: string): void;
  loginFailed(provider: string | null, reason: string): void;
  refreshed(provider: string, result: "ok" | "ended" | "unavailable"): void;
  backchannelLogout?(
    provider: string | null,
    result: "ok" | "invalid" | "replayed" | "unavailable",
    sessionsEnded: number,
  ): void;
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
  readonly logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  /** Where sessions live; default: sealed cookies (session.store "cookie"). */
  readonly store?: SessionStore;
  /**
   * Sessions ended early (back-channel logout, sign-out); default: this process only. Without Redis
   * every replica has its own list: with several replicas and the cookie store, a copy of a cookie
   * signed out at one replica is still accepted by the others until the session's lifetime ends.
   */
  readonly revocations?: RevocationList;
  /** Verifies a back-channel logout token (issuer → provider, keys, claims); absent = the endpoint refuses every token. */
  readonly verifyLogoutToken?: (
    token: string,
  ) => Promise<{ readonly provider: string | null; readonly outcome: LogoutTokenOutcome }>;
}

/** A session as the store found it (see src/session/SessionStore.ts). */
export type SessionLoad = StoreLoad;

/** A session after the refresh check: fresh (maybe refreshed), ended, or unavailable (IdP or store). */
export type Freshness = StoreRefresh;

/** The back-channel logout endpoint's answer (OpenID Connect Back-Channel Logout 1.0, section 2.8). */
export type BackchannelOutcome =
  | { readonly kind: "ok"; readonly sessionsEnded: number }
  | { readonly kind: "invalid"; readonly detail: string }
  | { readonly kind: "unavailable"; readonly detail: string };

export interface StepUp {
  readonly acrValues: readonly string[] | null;
  readonly maxAge: number | null;
}

export type LoginStart =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | { readonly kind: "unavailable" };

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
  | { readonly kind: "refused"; readonly message: string }
  /**
   * The sign-out could not be made to hold for every replica (the session store or the shared
   * revocation list did not answer): this replica refuses the session, the cookie is kept, and the
   * user is asked to try again. `reason` is the stable code for logs.
   */
  | {
      readonly kind: "unavailable";
      readonly reason: "signout_unavailable";
      readonly message: string;
      readonly detail: string;
    };

const SIGN_OUT_UNAVAILABLE = "We could not sign you out right now. Please try again.";

/** A failed refresh because the IdP was unreachable is not retried by every request for this long. */
const REFRESH_BACKOFF_MS = 15_000;
/** The login client hands one refresh's final outcome to every request with that refresh token for a minute. */
const REFRESH_SHARED_MS = 60_000;
/** Unsealed sessions kept (keyed by a digest of their cookies), each no longer than the session lives. */
const UNSEALED_SESSIONS_MAX = 10_000;
/** A logout token older than this is refused; its jti is remembered a little longer. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;
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
  load(cookies: ReadonlyMap<string, string>): Promise<SessionLoad>;
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
  startLoginAt(
    rd: string | null,
    cookies: ReadonlyMap<string, string>,
  ): Promise<LoginStart | { kind: "refused"; message: string }>;
  completeLogin(query: URLSearchParams, cookies: ReadonlyMap<string, string>): Promise<CallbackOutcome>;
  signOut(cookies: ReadonlyMap<string, string>, rd: string | null): Promise<SignOutOutcome>;
  /** `POST /oauth2/backchannel_logout`: verifies the logout token and ends the sessions it names. */
  backchannelLogout(logoutToken: string): Promise<BackchannelOutcome>;
  /** Origins a sign-out POST may come from: every login origin and every allowed origin. */
  isTrustedOrigin(origin: string): boolean;
  /** Lets go of the store's in-memory state and subscriptions (a config reload replaced these sessions). */
  close(): void;
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

  const store =
    options.store ??
    createCookieSessionStore({
      cookieName: config.cookieName,
      cookieDomain: config.cookieDomain,
      keys: config.keys,
      maxChunks: SESSION_MAX_CHUNKS,
      cacheMax: UNSEALED_SESSIONS_MAX,
    });
  const revocations =
    options.revocations ?? createRevocationList({ connection: null, jtiTtlSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS * 2 });
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
  // The refresh metric counts refreshes, not the requests that shared one (ten parallel requests, one IdP call).
  const countedRefreshes = new LRUCache<string, true>({ max: 10_000, ttl: REFRESH_SHARED_MS });
  const countRefresh = (provider: string, result: "ok" | "ended", key: string) => {
    if (countedRefreshes.has(key)) return;
    countedRefreshes.set(key, true);
    events?.refreshed(provider, result);
  };

  function owns(name: string): boolean {
    return store.owns(name) || loginCookies.owns(name);
  }

  async function load(cookies: ReadonlyMap<string, string>): Promise<SessionLoad> {
    const t = nowSeconds();
    const loaded = await store.load(cookies, t);
    if (loaded.kind !== "session") return loaded;
    const { session, present } = loaded;
    const provider = providers.get(session.provider);
    // Checked on every request, cached or not: a session from a provider that was removed or whose
    // issuer changed is no longer vouched for, and one a back-channel logout named is over.
    if (
      provider === undefined ||
      provider.issuer !== session.iss ||
      session.expiresAt <= t ||
      revocations.isRevoked(session)
    ) {
      return { kind: "invalid", clear: store.clear(present) };
    }
    return loaded;
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
        : { kind: "ended", clear: store.clear(present), reason: "access token expired and there is no refresh token" };
    }
    const refreshToken = session.refreshToken;
    const backoffKey = hashOf(refreshToken);
    const client = options.loginClient(session.provider);
    if (client === null || refreshBackoff.has(backoffKey)) {
      return stillValid
        ? { kind: "fresh", session, setCookies: [] }
        : { kind: "unavailable", reason: "provider not ready for refresh", cause: "idp" };
    }
    const run = async (): Promise<RefreshRun> => {
      try {
        const tokens = await client.refresh(refreshToken, { sub: session.sub });
        const refreshed = await buildSession(session.provider, tokens, session);
        countRefresh(session.provider, "ok", backoffKey);
        return { kind: "refreshed", session: refreshed };
      } catch (error) {
        if (error instanceof LoginError && error.code === "token_endpoint_unavailable") {
          // Requests that shared the failed call count it once; a retry after the backoff counts again.
          if (!refreshBackoff.has(backoffKey)) events?.refreshed(session.provider, "unavailable");
          refreshBackoff.set(backoffKey, true);
          return { kind: "unavailable", reason: error.message };
        }
        countRefresh(session.provider, "ended", backoffKey);
        return {
          kind: "ended",
          reason: error instanceof LoginError ? `refresh failed: ${error.code}` : `refresh failed: ${describe(error)}`,
        };
      }
    };
    const outcome = await store.refresh(session, present, run, t);
    // The current access token still works: let this request through and try again later.
    if (outcome.kind === "unavailable" && stillValid) return { kind: "fresh", session, setCookies: [] };
    return outcome;
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
    const sid =
      typeof idClaims?.["sid"] === "string" && idClaims["sid"].length > 0 ? idClaims["sid"] : (previous?.sid ?? null);
    return {
      v: 1,
      id: previous?.id ?? randomId(),
      provider,
      iss: config_.issuer,
      sub,
      sid,
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

  async function begin(
    provider: string,
    returnTo: string,
    cookies: ReadonlyMap<string, string>,
    stepUp?: StepUp,
  ): Promise<LoginStart> {
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
    const fail = (
      status: 400 | 502 | 503,
      reason: string,
      message: string,
      detail: string,
      provider: string | null,
      retry: string | null,
      setCookies: readonly string[] = [],
    ): CallbackOutcome => {
      events?.loginFailed(provider, reason);
      return { kind: "error", status, reason, message, retry, setCookies, detail };
    };
    const state = query.get("state");
    if (state === null || state.length === 0 || state.length > 512) {
      const idpError = query.get("error");
      if (idpError !== null)
        return fail(
          400,
          "idp_error",
          "The identity provider did not sign you in.",
          "error response without state",
          null,
          "/",
        );
      return fail(
        400,
        "state_missing",
        "This sign-in link is incomplete or has expired.",
        "callback without state",
        null,
        "/",
      );
    }
    const { txn, clear } = loginCookies.take(state, cookies, nowSeconds());
    if (txn === null) {
      return fail(
        400,
        "state_mismatch",
        "This sign-in attempt is unknown or has expired. Please try again.",
        "no pending login matches the state",
        null,
        "/",
        clear,
      );
    }
    if (usedStates.has(state)) {
      return fail(
        400,
        "callback_replayed",
        "This sign-in attempt was already used. Please try again.",
        "state already used",
        txn.provider,
        txn.returnTo,
        clear,
      );
    }
    usedStates.set(state, true);
    const client = options.loginClient(txn.provider);
    if (client === null) {
      return fail(
        503,
        "idp_unavailable",
        "The identity provider is not reachable right now. Please try again shortly.",
        "provider not ready",
        txn.provider,
        txn.returnTo,
        clear,
      );
    }
    try {
      const tokens = await client.complete(query, txn);
      // A step-up login must bring the level it asked for; otherwise the page would send the
      // browser straight back to the IdP, round and round.
      const acr = tokens.idTokenClaims?.["acr"];
      if (
        txn.acrValues !== undefined &&
        txn.acrValues.length > 0 &&
        (typeof acr !== "string" || !txn.acrValues.includes(acr))
      ) {
        return fail(
          400,
          "acr_not_met",
          "The identity provider did not confirm the stronger sign-in this page needs.",
          "the ID token's acr is not one of the acr_values asked for",
          txn.provider,
          null,
          clear,
        );
      }
      const session = await buildSession(txn.provider, tokens, null);
      const setCookies = [...clear, ...(await store.create(session, cookies, nowSeconds()))];
      const origin = loginOrigins.get(txn.provider) ?? defaultOrigin;
      events?.loginCompleted(txn.provider);
      return { kind: "redirect", location: redirects.resolve(txn.returnTo, origin) ?? `${origin}/`, setCookies };
    } catch (error) {
      if (error instanceof LoginError) {
        if (error.code === "idp_error") {
          return fail(
            400,
            "idp_error",
            `The identity provider did not sign you in${error.idpError ? ` (${error.idpError})` : ""}.`,
            error.message,
            txn.provider,
            txn.returnTo,
            clear,
          );
        }
        if (error.code === "token_endpoint_unavailable") {
          return fail(
            503,
            error.code,
            "The identity provider is not reachable right now. Please try again shortly.",
            error.message,
            txn.provider,
            txn.returnTo,
            clear,
          );
        }
        if (error.code === "token_endpoint_error") {
          return fail(
            502,
            error.code,
            "The identity provider refused to complete the sign-in.",
            error.message,
            txn.provider,
            txn.returnTo,
            clear,
          );
        }
        return fail(
          400,
          error.code,
          "The sign-in response could not be accepted. Please try again.",
          error.message,
          txn.provider,
          txn.returnTo,
          clear,
        );
      }
      if (error instanceof SessionStoreUnavailableError) {
        return fail(
          503,
          "session_store_unavailable",
          "Sessions cannot be stored right now. Please try again shortly.",
          error.message,
          txn.provider,
          txn.returnTo,
          clear,
        );
      }
      if (error instanceof SessionTooLargeError) {
        return fail(
          502,
          "session_too_large",
          "Your identity is too large to keep in a session cookie.",
          error.message,
          txn.provider,
          null,
          clear,
        );
      }
      return fail(
        503,
        "internal_error",
        "The sign-in could not be completed. Please try again.",
        describe(error),
        txn.provider,
        txn.returnTo,
        clear,
      );
    }
  }

  async function signOut(cookies: ReadonlyMap<string, string>, rd: string | null): Promise<SignOutOutcome> {
    const t = nowSeconds();
    // Straight from the store, not through load(): a session this replica already refuses (a sign-out
    // that answered 503, a back-channel logout) must still be deleted and shared by this sign-out.
    const loaded = await store.load(cookies, t);
    const session = loaded.kind === "session" ? loaded.session : null;
    const provider = session === null ? undefined : providers.get(session.provider);
    const vouched =
      session !== null && provider !== undefined && provider.issuer === session.iss && session.expiresAt > t;
    const origin = (vouched && loginOrigins.get(session.provider)) || defaultOrigin;
    const target = redirects.resolve(rd ?? config.postLogoutRedirect, origin);
    if (target === null) return { kind: "refused", message: "the return address is not allowed" };
    if (loaded.kind === "unavailable") {
      // Nothing can be deleted or shared, but the cookie names its session without the store: this
      // replica refuses that id (under every provider, as the provider is in the stored session)
      // for as long as a session can live. The cookie stays, so the user's retry finishes the job.
      const id = store.sessionIdOf(cookies, t);
      if (id !== null)
        for (const p of options.providers)
          revocations.endSessionHere({ id, provider: p.name, expiresAt: t + config.lifetimeSeconds });
      return {
        kind: "unavailable",
        reason: "signout_unavailable",
        message: SIGN_OUT_UNAVAILABLE,
        detail: `the session could not be read: ${loaded.reason}`,
      };
    }
    const present = [...cookies.keys()].filter((name) => store.owns(name));
    let setCookies: readonly string[];
    // Whether the stored session is gone for every replica (only the Redis store keeps one).
    let deleted = false;
    let deleteFault: string | null = null;
    try {
      setCookies = await store.destroy(session, present);
      deleted = store.kind === "redis" && session !== null;
    } catch (error) {
      deleteFault = error instanceof Error ? error.message : "unknown";
      setCookies = store.clear(present);
    }
    if (session !== null) {
      // A copy of the cookie taken before now (a sealed cookie session is valid wherever it is
      // presented) is refused from here on: here at once, on every replica through Redis.
      let shared = true;
      try {
        await revocations.endSession(session);
      } catch (error) {
        shared = false;
        options.logger?.warn(
          { reason: error instanceof Error ? error.message : "unknown" },
          "sign-out could not share the session's revocation",
        );
      }
      // Neither deleted nor revoked for the other replicas: a copy of the cookie would work there
      // again. Only this replica refuses it now; keep the cookie so the user's retry shares it.
      if (!deleted && !shared) {
        return {
          kind: "unavailable",
          reason: "signout_unavailable",
          message: SIGN_OUT_UNAVAILABLE,
          detail:
            deleteFault === null
              ? "the shared revocation could not be written"
              : `neither the stored session could be deleted (${deleteFault}) nor the shared revocation written`,
        };
      }
      if (deleteFault !== null)
        options.logger?.warn(
          { reason: deleteFault },
          "sign-out could not delete the stored session; the shared revocation refuses it",
        );
    } else if (deleteFault !== null) {
      options.logger?.warn({ reason: deleteFault }, "sign-out could not delete the stored session");
    }
    if (session !== null && vouched) {
      const client = options.loginClient(session.provider);
      const endSession = client?.endSessionUrl({ idTokenHint: session.idToken, postLogoutRedirectUri: target }) ?? null;
      if (endSession !== null) return { kind: "redirect", location: endSession, setCookies };
    }
    return { kind: "redirect", location: target, setCookies };
  }

  async function backchannelLogout(logoutToken: string): Promise<BackchannelOutcome> {
    const report = (provider: string | null, result: "ok" | "invalid" | "replayed" | "unavailable", ended = 0) =>
      events?.backchannelLogout?.(provider, result, ended);
    if (options.verifyLogoutToken === undefined) {
      report(null, "invalid");
      return { kind: "invalid", detail: "back-channel logout is not available" };
    }
    const { provider, outcome } = await options.verifyLogoutToken(logoutToken);
    if (!outcome.ok || provider === null) {
      const unavailable = !outcome.ok && outcome.code === "keys_unavailable";
      report(provider, unavailable ? "unavailable" : "invalid");
      const detail = outcome.ok ? "no provider for this issuer" : outcome.detail;
      return unavailable ? { kind: "unavailable", detail } : { kind: "invalid", detail };
    }
    const claims: LogoutClaims = outcome.claims;
    try {
      // With a sid the logout names one IdP session; with only a sub, every session of that user.
      const by = claims.sid !== null ? { sid: claims.sid, sub: null } : { sid: null, sub: claims.sub };
      // Kept as long as the sessions it names can live, under the lifetime in force now.
      const recorded = await revocations.revoke(
        { provider, ...by, at: Math.max(claims.iat, nowSeconds()) },
        config.lifetimeSeconds,
        { issuer: claims.iss, jti: claims.jti },
      );
      if (recorded === "replayed") {
        report(provider, "replayed");
        return { kind: "invalid", detail: "logout token replayed (jti already used)" };
      }
      // The revocation already refuses these sessions everywhere; deleting them frees Redis at once.
      // If that fails the logout is still in effect (the IdP must not post it again only to be
      // refused as a replay): the stored sessions then expire by themselves.
      const ended = await store.revoke(provider, by).catch((error: unknown) => {
        if (!(error instanceof SessionStoreUnavailableError)) throw error;
        options.logger?.warn(
          { provider, reason: error.message },
          "back-channel logout recorded; its stored sessions could not be deleted yet",
        );
        return 0;
      });
      report(provider, "ok", ended);
      options.logger?.info?.(
        { provider, by: claims.sid !== null ? "sid" : "sub", storedSessionsEnded: ended },
        "back-channel logout",
      );
      return { kind: "ok", sessionsEnded: ended };
    } catch (error) {
      if (!(error instanceof SessionStoreUnavailableError)) throw error;
      report(provider, "unavailable");
      return { kind: "unavailable", detail: error.message };
    }
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
    backchannelLogout,
    isTrustedOrigin: (origin) => trustedOrigins.has(origin),
    close: () => store.close(),
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
