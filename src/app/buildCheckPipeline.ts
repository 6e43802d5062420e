// Assembles the Check pipeline from a parsed config, without listening anywhere: providers, gate,
// metrics, and the ext_authz handlers whose observer records metrics and logs each denial once.
// startServer puts it behind the listeners (and rebuilds it on a config reload, reusing what did not
// change); bench/checkPath.ts measures it without sockets.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { Gate } from "../core/Gate.ts";
import { API_KEY_PROVIDER, createApiKeySet, type ApiKeySet } from "../core/ApiKeySet.ts";
import { RouteTable } from "../core/RouteTable.ts";
import { createPathNormalizer } from "../core/normalizePath.ts";
import { createIdentityHeaders } from "../identity/IdentityHeaders.ts";
import { createDynamicMetadata } from "../identity/createDynamicMetadata.ts";
import { createRouteResponseHeaders } from "../identity/createRouteResponseHeaders.ts";
import { createDenialPages } from "../core/createDenialPages.ts";
import { withDenialFiles } from "./readDenialPage.ts";
import type { TokenForwarding, TokenForwardings } from "../core/withForwardedToken.ts";
import { createBrowserLogin, type BrowserLogin } from "../login/createBrowserLogin.ts";
import { createSessionPort } from "../login/createSessionPort.ts";
import type { LoginClientPort } from "../login/LoginClientPort.ts";
import { BACKCHANNEL_RESULTS, createMetrics, type Metrics } from "../observability/Metrics.ts";
import type { FetchLike } from "../oidc/boundedFetch.ts";
import { createIssuerPolicy } from "../oidc/createIssuerPolicy.ts";
import { createLoginClient } from "../oidc/createLoginClient.ts";
import type { IdpCallObserver } from "../oidc/traceIdpCall.ts";
import {
  createProviderRegistry,
  type ProviderRegistry,
  type ProviderRegistryOptions,
} from "../oidc/ProviderRegistry.ts";
import { createExtAuthzHandlers } from "../transport/createExtAuthzHandlers.ts";
import { createRedisSessionStore } from "../session/createRedisSessionStore.ts";
import type { SessionStore } from "../session/SessionStore.ts";
import { createLogoutTokenDispatcher } from "../oidc/createLogoutTokenDispatcher.ts";
import type { SharedSessionState } from "./createSharedSessionState.ts";
import { createAssertionPipeline, type AssertionPipeline } from "./createAssertionPipeline.ts";
import { providersDemandCertificates } from "./clientCertificateUse.ts";
import { createCheckObserver } from "./createCheckObserver.ts";
import { createRequestTraceLog, type RequestTraceLog } from "./createRequestTraceLog.ts";
import { createConfiguredTokenBinding } from "./createConfiguredTokenBinding.ts";
import { createConfiguredTokenExchange } from "./createConfiguredTokenExchange.ts";

export interface CheckPipeline {
  /** The config this pipeline was built from. */
  readonly config: PortcullisConfig;
  readonly registry: ProviderRegistry;
  /** Browser login and sessions; null when no provider has a client. */
  readonly login: BrowserLogin | null;
  readonly gate: Gate;
  readonly metrics: Metrics;
  /** Handlers bound to this pipeline's gate (startServer serves a swappable gate instead). */
  readonly handlers: UntypedServiceImplementation;
  /** The signed identity assertion and what the auth listener publishes of it; null when no route adds one. */
  readonly assertion: AssertionPipeline | null;
  /** Trace on demand (log.traceRequests); null or absent when off, and the live gate then calls gate.decide directly. */
  readonly requestTrace?: RequestTraceLog | null;
}

export interface PipelineReuse {
  /** Process-wide metrics; their gauges are bound by the caller. Default: new metrics bound to this registry. */
  readonly metrics?: Metrics;
  /**
   * The pipeline this one replaces on a config reload. Its registry is kept when every provider and
   * the token-cache size are unchanged, else a successor adopts the unchanged providers; its
   * sessions are kept when the registry and the session settings are unchanged.
   */
  readonly previous?: CheckPipeline;
  /** The process's Redis connection and revocation list (absent: no Redis, revocations kept per pipeline). */
  readonly shared?: SharedSessionState;
  /** The process's one clock, for every unit of the pipeline; default: the system clock. */
  readonly clock?: Clock;
  /** How the providers reach their IdPs (discovery, keys); default: the global fetch. `explain --jwks` serves a file. */
  readonly fetch?: FetchLike;
}

export function buildCheckPipeline(config: PortcullisConfig, logger: Logger, reuse: PipelineReuse = {}): CheckPipeline {
  // The registry needs the metrics observer and the metrics may need the registry's cache size:
  // the observer forwards through this late-bound reference.
  let metricsRef: Metrics | null = reuse.metrics ?? null;
  let [cacheHits, cacheMisses]: ({ inc(): void } | null)[] = [null, null];
  const clock = reuse.clock ?? systemClock;
  const observeIdpCall: IdpCallObserver = (call, provider, outcome, seconds) =>
    metricsRef?.idpRequestDuration.observe({ provider, call, outcome }, seconds);
  const registryOptions: ProviderRegistryOptions = {
    tokenCacheMaxEntries: config.tokenCache.maxEntries,
    logger,
    clock,
    ...(reuse.fetch !== undefined ? { fetch: reuse.fetch } : {}),
    observer: {
      jwksFetch: (provider, result) => metricsRef?.jwksFetches.inc({ provider, result }),
      jwksKeysSkipped: (provider, count) => metricsRef?.jwksKeysSkipped.inc({ provider }, count),
      tokenCache: (hit) => (hit ? cacheHits : cacheMisses)?.inc(),
      idpCall: observeIdpCall,
    },
    introspectionObserver: {
      introspection: (provider, result) => metricsRef?.introspections.inc({ provider, result }),
      idpCall: observeIdpCall,
    },
  };
  const providers = Object.values(config.providers);
  const previous = reuse.previous;
  const registry =
    previous === undefined
      ? createProviderRegistry(providers, registryOptions)
      : sameRegistrySettings(previous.config, config)
        ? previous.registry
        : previous.registry.successor(providers, registryOptions);
  const metrics =
    metricsRef ??
    createMetrics({
      tokenCacheSize: () => registry.cacheSize(),
      providerReady: () => registry.status().map((s) => ({ provider: s.provider, ready: s.ready })),
    });
  metricsRef = metrics;
  cacheHits = metrics.tokenCacheLookups.child({ result: "hit" });
  cacheMisses = metrics.tokenCacheLookups.child({ result: "miss" });
  startProviderSeries(metrics, Object.keys(config.providers));

  // Kept sessions keep their caches (unsealed sessions, used login states, refresh back-off).
  const login =
    previous !== undefined &&
    previous.registry === registry &&
    isDeepStrictEqual(previous.config.session, config.session)
      ? previous.login
      : createLogin(config, registry, metrics, logger, reuse.shared ?? null, clock);
  const identity = identityOf(config, reuse.shared, logger, clock);
  const gate = new Gate({
    normalizePath: createPathNormalizer(config.policy.allowPathShapes ?? []),
    ...routesOf(config, clock),
    verifier: registry,
    ...identity,
    ...sessionsOf(login, reuse.shared),
    binding: createConfiguredTokenBinding(config, reuse.shared?.dpop, clock),
    clock,
    tokenExchange: createConfiguredTokenExchange(config, registry, metrics, clock),
    ...answerPartsOf(config),
  });

  const observer = createCheckObserver(metrics, logger, () => config.log.audit);
  const requestTrace = createRequestTraceLog(config, { logger, metrics, clock });
  return {
    config,
    registry,
    metrics,
    login,
    gate,
    assertion: identity.assertions,
    requestTrace,
    handlers: createExtAuthzHandlers(gate, observer),
  };
}

/** What answers carry besides the identity headers: the client's Authorization, metadata, client headers, pages. */
function answerPartsOf(config: PortcullisConfig) {
  return {
    forwardAuthorization: config.identity.forwardAuthorization,
    metadata: createDynamicMetadata(config.identity.metadata),
    responseHeaders: createRouteResponseHeaders(config.routes, config.identity.maxHeaderBytes),
    denialPages: createDenialPages(withDenialFiles(config.routes)),
    forwardTokens: tokenForwardingsOf(config),
  };
}

/** The routes whose upstream gets the caller's token; null when none asks (the usual config). */
function tokenForwardingsOf(config: PortcullisConfig): TokenForwardings | null {
  const forwardings = new Map<string, TokenForwarding>();
  for (const { name, forwardToken } of config.routes)
    if (forwardToken?.enabled === true)
      forwardings.set(name, { token: forwardToken.token, header: forwardToken.header });
  return forwardings.size === 0 ? null : forwardings;
}

/**
 * The route table, told whether providers demand certificate-bound tokens (x-forwarded-client-cert
 * removal), where API keys are read and the clock `time` conditions read, and the API keys, built from this config: a reload's
 * pipeline holds the new keys only (rotation).
 */
function routesOf(config: PortcullisConfig, clock: Clock): { routes: RouteTable; apiKeys: ApiKeySet | null } {
  const apiKeys = createApiKeySet(config.apiKeys);
  const routes = new RouteTable(config.routes, config.policy, {
    providersDemandCertificates: providersDemandCertificates(config),
    clock,
    ...(apiKeys === null ? {} : { apiKeySources: apiKeys.sources }),
  });
  return { routes, apiKeys };
}

/** The gate's identity headers and signed assertion (null when no route adds one) for a config. */
function identityOf(config: PortcullisConfig, shared: SharedSessionState | undefined, logger: Logger, clock: Clock) {
  // An API key's roles are its `roles` claim (ApiKeySet), whatever identity.roleClaims says.
  const apiKeyClaims = { name: API_KEY_PROVIDER, roleClaims: ["roles"], groupClaims: null };
  const identity = createIdentityHeaders(config.identity, [...Object.values(config.providers), apiKeyClaims]);
  const assertions = createAssertionPipeline(config, identity, { keyring: shared?.assertionKeys, logger, clock });
  return { identity, assertions };
}

/** The gate's browser sessions, and the revocation list its bearer tokens meet (back-channel logouts' sid and sub). */
function sessionsOf(login: BrowserLogin | null, shared: SharedSessionState | undefined) {
  return {
    sessions: login === null ? null : createSessionPort(login),
    revocations: login?.revocations ?? shared?.revocations ?? null,
  };
}

/** Same providers in the same order (opaque tokens go to the first introspecting one) and the same token-cache size. */
function sameRegistrySettings(a: PortcullisConfig, b: PortcullisConfig): boolean {
  return (
    a.tokenCache.maxEntries === b.tokenCache.maxEntries &&
    isDeepStrictEqual(Object.values(a.providers), Object.values(b.providers))
  );
}

/** Whether the config turns browser login on: the auth listener's sessions exist from start-up on or never. */
export function browserLoginEnabled(config: PortcullisConfig): boolean {
  return (
    Object.values(config.providers).some((p) => p.clientId !== null && p.redirectUri !== null) &&
    config.session.keys.length > 0
  );
}

/** Browser sessions when some provider has a client: login clients are made once each provider is loaded. */
function createLogin(
  config: PortcullisConfig,
  registry: ProviderRegistry,
  metrics: Metrics,
  logger: Logger,
  shared: SharedSessionState | null,
  clock: Clock,
): BrowserLogin | null {
  const providers = Object.values(config.providers);
  if (!browserLoginEnabled(config)) return null;
  for (const provider of Object.keys(config.providers)) {
    for (const result of BACKCHANNEL_RESULTS) metrics.backchannelLogouts.inc({ provider, result }, 0);
    if (config.session.idleTimeoutSeconds !== null) metrics.sessionsEnded.inc({ provider, reason: "idle" }, 0);
    metrics.sessionsEnded.inc({ provider, reason: "replaced" }, 0);
  }
  const store = sessionStoreFor(config, shared, logger, clock);
  return createBrowserLogin({
    session: config.session,
    providers,
    loginClient: loginClientsOf(registry, clock, (call, provider, outcome, seconds) =>
      metrics.idpRequestDuration.observe({ provider, call, outcome }, seconds),
    ),
    // Access tokens Portcullis cannot check (Google's) are not tried: the session's identity is the ID token's.
    verifyAccessToken: (token, provider) =>
      config.providers[provider]?.opaqueAccessTokens === true
        ? Promise.resolve({
            ok: false,
            code: "token_malformed",
            provider,
            detail: "the provider's access tokens are opaque",
          })
        : registry.verify(token, [provider]),
    verifyLogoutToken: createLogoutTokenDispatcher(providers, registry, clock),
    ...(store !== undefined ? { store } : {}),
    ...(shared !== null ? { revocations: shared.revocations } : {}),
    logger,
    clock,
    events: {
      backchannelLogout: (provider, result) =>
        metrics.backchannelLogouts.inc({ provider: provider ?? "(unknown)", result }),
      loginStarted: (provider, reason) => metrics.logins.inc({ provider, result: "started", reason }),
      loginCompleted: (provider) => metrics.logins.inc({ provider, result: "completed", reason: "ok" }),
      loginFailed: (provider, reason) =>
        metrics.logins.inc({ provider: provider ?? "(unknown)", result: "failed", reason }),
      refreshed: (provider, result) => metrics.sessionRefreshes.inc({ provider, result }),
      sessionEnded: (provider, reason) => metrics.sessionsEnded.inc({ provider, reason }),
    },
  });
}

/**
 * Each configured provider's series start at 0, so dashboards and rate() see them before the first
 * login, refresh or introspection (adding 0 is harmless when a reload keeps a provider).
 */
function startProviderSeries(metrics: Metrics, providers: readonly string[]): void {
  for (const provider of providers) {
    for (const result of ["started", "completed"]) metrics.logins.inc({ provider, result, reason: "ok" }, 0);
    for (const result of ["ok", "ended", "unavailable"]) metrics.sessionRefreshes.inc({ provider, result }, 0);
    for (const result of ["active", "inactive", "error", "cache_hit"])
      metrics.introspections.inc({ provider, result }, 0);
    metrics.jwksKeysSkipped.inc({ provider }, 0);
  }
}

/** Each provider's login client, made once the provider's discovery and keys are loaded (null before). */
function loginClientsOf(
  registry: ProviderRegistry,
  clock: Clock,
  observeIdpCall: IdpCallObserver,
): (provider: string) => LoginClientPort | null {
  const clients = new Map<string, LoginClientPort>();
  return (name) => {
    const existing = clients.get(name);
    if (existing !== undefined) return existing;
    const loaded = registry.loaded(name);
    if (loaded === null) return null;
    const p = loaded.config;
    if (p.clientId === null || p.redirectUri === null) return null;
    const client = createLoginClient({
      providerName: p.name,
      issuer: p.issuer,
      metadata: loaded.metadata,
      keys: loaded.keys,
      clientId: p.clientId,
      clientSecret: p.clientSecret,
      redirectUri: p.redirectUri,
      scopes: p.scopes,
      algorithms: p.algorithms,
      clockToleranceSeconds: p.clockToleranceSeconds,
      timeoutMs: p.codeExchangeTimeoutMs,
      refreshTimeoutMs: p.requestTimeoutMs,
      allowInsecureHttp: p.allowInsecureHttp,
      issuerPolicy: createIssuerPolicy(p),
      ...(p.authorizationParams !== undefined ? { authorizationParams: p.authorizationParams } : {}),
      ...(p.logout !== undefined ? { logout: p.logout } : {}),
      clock,
      observeIdpCall,
    });
    clients.set(name, client);
    return client;
  };
}

/** The Redis session store when `session.store` is redis and Redis is configured; otherwise sealed cookies (undefined). */
function sessionStoreFor(
  config: PortcullisConfig,
  shared: SharedSessionState | null,
  logger: Logger,
  clock: Clock,
): SessionStore | undefined {
  const redis = shared?.redis ?? null;
  if (config.session.store !== "redis" || redis === null) return undefined;
  return createRedisSessionStore({
    connection: redis,
    cookieName: config.session.cookieName,
    cookieDomain: config.session.cookieDomain,
    keys: config.session.keys,
    lifetimeSeconds: config.session.lifetimeSeconds,
    // The lease covers the refresh call's timeout and the access-token check after it; it is renewed while both run.
    lockTtlMs: (provider) => (config.providers[provider]?.requestTimeoutMs ?? 800) * 2 + 1_000,
    events: shared?.redisEvents,
    logger,
    clock,
  });
}
