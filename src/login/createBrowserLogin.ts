// The state every login step works on, made once per session config: where sessions live (the
// store), what ends them early (the revocation list), the per-login transaction cookies, the
// redirect policy, and the small caches that keep callbacks and refreshes honest. The steps
// themselves (startLogin, completeLogin, freshenSession, signOut, backchannelLogout) are functions
// of this state, each in its own file.
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { ProviderConfig, SessionConfig } from "../config/PortcullisConfig.ts";
import { LOGOUT_TOKEN_MAX_AGE_SECONDS, type LogoutTokenDispatcher } from "../oidc/createLogoutTokenDispatcher.ts";
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";
import { createCookieSealer } from "../session/createCookieSealer.ts";
import { createCookieSessionStore } from "../session/createCookieSessionStore.ts";
import {
  createLoginTransactionCookies,
  type LoginTransactionCookies,
} from "../session/createLoginTransactionCookies.ts";
import { createRedirectPolicy, type RedirectPolicy } from "../session/createRedirectPolicy.ts";
import { createRevocationList, type RevocationList } from "../session/createRevocationList.ts";
import type { SessionStore } from "../session/SessionStore.ts";
import type { LoginClientPort } from "./LoginClientPort.ts";
import type { LoginEvents } from "./LoginEvents.ts";
import { SESSION_MAX_CHUNKS } from "./parseSessionCookies.ts";

export interface BrowserLoginOptions {
  readonly session: SessionConfig;
  readonly providers: readonly ProviderConfig[];
  /** The provider's login client once its discovery and keys are loaded; null before. */
  readonly loginClient: (provider: string) => LoginClientPort | null;
  /** Verifies an access token from the IdP as a bearer token of that provider (for its claims). */
  readonly verifyAccessToken: (token: string, provider: string) => Promise<VerifyOutcome>;
  /** Where the time comes from (sessions' expiry, refresh windows, login transactions); default: the system's. */
  readonly clock?: Clock;
  readonly events?: LoginEvents;
  readonly logger?: LoginLogger;
  /** Where sessions live; default: sealed cookies (session.store "cookie"). */
  readonly store?: SessionStore;
  /**
   * Sessions ended early (back-channel logout, sign-out); default: this process only. Without Redis
   * every replica has its own list: with several replicas and the cookie store, a copy of a cookie
   * signed out at one replica is still accepted by the others until the session's lifetime ends.
   */
  readonly revocations?: RevocationList;
  /** Verifies a back-channel logout token (issuer → provider, keys, claims); absent = the endpoint refuses every token. */
  readonly verifyLogoutToken?: LogoutTokenDispatcher;
}

export interface LoginLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface BrowserLogin {
  readonly config: SessionConfig;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  /** Providers a browser can log in with (a client and a redirect URI), in config order. */
  readonly loginProviders: readonly ProviderConfig[];
  /** Each login provider's origin (its redirect URI's); `defaultOrigin` is the first one's. */
  readonly loginOrigins: ReadonlyMap<string, string>;
  readonly defaultOrigin: string;
  /** Origins a sign-out POST may come from: every login origin and every allowed origin. */
  readonly trustedOrigins: ReadonlySet<string>;
  /** Every cookie of ours starts with this: a Cookie header without it needs no parsing. */
  readonly cookiePrefix: string;
  readonly store: SessionStore;
  readonly revocations: RevocationList;
  readonly loginCookies: LoginTransactionCookies;
  readonly redirects: RedirectPolicy;
  /** Callback states already used, so a replayed callback fails even with a copied cookie. */
  readonly usedStates: LRUCache<string, true>;
  /** Refresh tokens whose refresh could not reach the IdP lately (by digest): not retried by every request. */
  readonly refreshBackoff: LRUCache<string, true>;
  /** Counts a refresh's outcome once, however many requests shared that refresh. */
  countRefresh(provider: string, result: "ok" | "ended", key: string): void;
  readonly loginClient: (provider: string) => LoginClientPort | null;
  readonly verifyAccessToken: (token: string, provider: string) => Promise<VerifyOutcome>;
  readonly verifyLogoutToken: LogoutTokenDispatcher | null;
  readonly events: LoginEvents | null;
  readonly logger: LoginLogger | null;
  nowSeconds(): number;
  /** Whether a cookie name is one of ours (session chunks, login transactions): never sent upstream. */
  owns(name: string): boolean;
  /** Lets go of the store's in-memory state and subscriptions (a config reload replaced these sessions). */
  close(): void;
}

/** A failed refresh because the IdP was unreachable is not retried by every request for this long. */
const REFRESH_BACKOFF_MS = 15_000;
/** The login client hands one refresh's final outcome to every request with that refresh token for a minute. */
const REFRESH_SHARED_MS = 60_000;
/** Unsealed sessions kept (keyed by a digest of their cookies), each no longer than the session lives. */
const UNSEALED_SESSIONS_MAX = 10_000;
const USED_STATES_MAX = 10_000;

export function createBrowserLogin(options: BrowserLoginOptions): BrowserLogin {
  const { session: config } = options;
  const clock = options.clock ?? systemClock;
  const loginProviders = options.providers.filter((p) => p.clientId !== null && p.redirectUri !== null);
  const loginOrigins = new Map(loginProviders.map((p) => [p.name, new URL(p.redirectUri as string).origin]));
  const store =
    options.store ??
    createCookieSessionStore({
      cookieName: config.cookieName,
      cookieDomain: config.cookieDomain,
      keys: config.keys,
      maxChunks: SESSION_MAX_CHUNKS,
      cacheMax: UNSEALED_SESSIONS_MAX,
      clock,
    });
  const loginCookies = createLoginTransactionCookies({
    prefix: `${config.cookieName}-login`,
    domain: config.cookieDomain,
    sealer: createCookieSealer({ keys: config.keys, purpose: "portcullis-login", clock }),
    ttlSeconds: config.loginTimeoutSeconds,
    maxPending: config.maxPendingLogins,
    clock,
  });
  const events = options.events ?? null;
  // The refresh metric counts refreshes, not the requests that shared one (ten parallel requests, one IdP call).
  const countedRefreshes = new LRUCache<string, true>({ max: 10_000, ttl: REFRESH_SHARED_MS });
  return {
    config,
    providers: new Map(options.providers.map((p) => [p.name, p])),
    loginProviders,
    loginOrigins,
    defaultOrigin: loginOrigins.values().next().value as string,
    trustedOrigins: new Set([...loginOrigins.values(), ...config.allowedRedirectOrigins]),
    cookiePrefix: config.cookieName,
    store,
    revocations:
      options.revocations ??
      // On the login's clock: a revocation is kept until the session it names would expire, by that clock.
      createRevocationList({ connection: null, jtiTtlSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS * 2, clock }),
    loginCookies,
    redirects: createRedirectPolicy({ allowedOrigins: config.allowedRedirectOrigins }),
    usedStates: new LRUCache<string, true>({ max: USED_STATES_MAX, ttl: config.loginTimeoutSeconds * 1000 }),
    refreshBackoff: new LRUCache<string, true>({ max: 10_000, ttl: REFRESH_BACKOFF_MS }),
    countRefresh(provider, result, key) {
      if (countedRefreshes.has(key)) return;
      countedRefreshes.set(key, true);
      events?.refreshed(provider, result);
    },
    loginClient: options.loginClient,
    verifyAccessToken: options.verifyAccessToken,
    verifyLogoutToken: options.verifyLogoutToken ?? null,
    events,
    logger: options.logger ?? null,
    nowSeconds: () => Math.floor(clock.now() / 1000),
    owns: (name) => store.owns(name) || loginCookies.owns(name),
    close: () => store.close(),
  };
}
