// Assembles the Check pipeline from a parsed config, without listening anywhere: providers, gate,
// metrics, and the ext_authz handlers whose observer records metrics and logs each denial once.
// startServer puts it behind the listeners; bench/checkPath.ts measures it without sockets.
import type { Logger } from "pino";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { createBrowserSessions, type BrowserSessions, type LoginClientPort } from "../core/BrowserSessions.ts";
import { Gate } from "../core/Gate.ts";
import { RouteTable } from "../core/RouteTable.ts";
import { normalizePath } from "../core/normalizePath.ts";
import { createIdentityHeaders } from "../identity/IdentityHeaders.ts";
import { createMetrics, type Metrics } from "../observability/Metrics.ts";
import { createLoginClient } from "../oidc/createLoginClient.ts";
import { createProviderRegistry, type ProviderRegistry } from "../oidc/ProviderRegistry.ts";
import { createExtAuthzHandlers } from "../transport/createExtAuthzHandlers.ts";

export interface CheckPipeline {
  readonly registry: ProviderRegistry;
  /** Browser login and sessions; null when no provider has a client. */
  readonly sessions: BrowserSessions | null;
  readonly metrics: Metrics;
  readonly handlers: UntypedServiceImplementation;
}

export function buildCheckPipeline(config: PortcullisConfig, logger: Logger): CheckPipeline {
  // The registry needs the metrics observer and the metrics need the registry's cache size:
  // the observer forwards through this late-bound reference.
  let metricsRef: Metrics | null = null;
  let cacheHits: { inc(): void } | null = null;
  let cacheMisses: { inc(): void } | null = null;
  const registry = createProviderRegistry(Object.values(config.providers), {
    tokenCacheMaxEntries: config.tokenCache.maxEntries,
    logger,
    observer: {
      jwksFetch: (provider, result) => metricsRef?.jwksFetches.inc({ provider, result }),
      tokenCache: (hit) => (hit ? cacheHits : cacheMisses)?.inc(),
    },
    introspectionObserver: {
      introspection: (provider, result) => metricsRef?.introspections.inc({ provider, result }),
    },
  });
  const metrics = createMetrics({
    tokenCacheSize: () => registry.cacheSize(),
    providerReady: () => registry.status().map((s) => ({ provider: s.provider, ready: s.ready })),
  });
  metricsRef = metrics;
  cacheHits = metrics.tokenCacheLookups.labels({ result: "hit" });
  cacheMisses = metrics.tokenCacheLookups.labels({ result: "miss" });

  const sessions = createSessions(config, registry, metrics, logger);
  const gate = new Gate({
    normalizePath,
    routes: new RouteTable(config.routes, config.policy),
    verifier: registry,
    identity: createIdentityHeaders(config.identity),
    forwardAuthorization: config.identity.forwardAuthorization,
    sessions,
  });

  // Metric children per label set, resolved once: label sets are bounded (routes from config,
  // reasons from closed sets) and a cached child skips prom-client's label hashing on every check.
  const checkCounters = new Map<string, { inc(): void }>();
  const durations = {
    allow: metrics.checkDuration.labels({ decision: "allow" }),
    deny: metrics.checkDuration.labels({ decision: "deny" }),
  };
  const countCheck = (decision: Decision) => {
    const reason = decision.kind === "allow" ? decision.reason : decision.code;
    const route = decision.route ?? "(none)";
    const key = `${decision.kind}\u0000${reason}\u0000${route}`;
    let counter = checkCounters.get(key);
    if (counter === undefined) {
      counter = metrics.checks.labels({ decision: decision.kind, reason, route });
      checkCounters.set(key, counter);
    }
    counter.inc();
  };

  const observer = {
    checked(request: AccessRequest | null, decision: Decision, seconds: number, fault?: unknown) {
      countCheck(decision);
      durations[decision.kind].observe(seconds);
      if (decision.kind === "allow") return;
      const line = {
        requestId: clip(request?.requestId),
        route: decision.route,
        code: decision.code,
        status: decision.status,
        provider: decision.provider,
        detail: decision.detail,
        method: request?.method,
        host: clip(request?.host),
      };
      if (decision.code === "internal_error") {
        logger.error({ ...line, fault: fault instanceof Error ? fault.name : undefined }, "check failed closed");
      } else {
        logger.info(line, "request denied");
      }
    },
  };

  return { registry, metrics, sessions, handlers: createExtAuthzHandlers(gate, observer) };
}

/** Browser sessions when some provider has a client: login clients are made once each provider is loaded. */
function createSessions(config: PortcullisConfig, registry: ProviderRegistry, metrics: Metrics, logger: Logger): BrowserSessions | null {
  const providers = Object.values(config.providers);
  if (!providers.some((p) => p.clientId !== null && p.redirectUri !== null) || config.session.keys.length === 0) return null;
  const clients = new Map<string, LoginClientPort>();
  const loginClient = (name: string): LoginClientPort | null => {
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
    });
    clients.set(name, client);
    return client;
  };
  return createBrowserSessions({
    session: config.session,
    providers,
    loginClient,
    verifyAccessToken: (token, provider) => registry.verify(token, [provider]),
    logger,
    events: {
      loginStarted: (provider) => metrics.logins.inc({ provider, result: "started", reason: "ok" }),
      loginCompleted: (provider) => metrics.logins.inc({ provider, result: "completed", reason: "ok" }),
      loginFailed: (provider, reason) => metrics.logins.inc({ provider: provider ?? "(unknown)", result: "failed", reason }),
      refreshed: (provider, result) => metrics.sessionRefreshes.inc({ provider, result }),
    },
  });
}

/** Client-supplied values go into logs bounded, so a huge header cannot flood them. */
function clip(value: string | undefined): string | undefined {
  return value === undefined || value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}
