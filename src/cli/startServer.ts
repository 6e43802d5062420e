// Wires one Portcullis process from a parsed config: providers, gate, gRPC ext_authz + health,
// the auth listener and the admin listener. Used by `serve`, by the demo and by tests.
import type { Logger } from "pino";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { Gate } from "../core/Gate.ts";
import { RouteTable } from "../core/RouteTable.ts";
import { normalizePath } from "../core/normalizePath.ts";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { startAuthServer } from "../http/startAuthServer.ts";
import { createIdentityHeaders } from "../identity/IdentityHeaders.ts";
import { createMetrics } from "../observability/Metrics.ts";
import { createLogger } from "../observability/createLogger.ts";
import { startAdminServer } from "../observability/startAdminServer.ts";
import { createProviderRegistry } from "../oidc/ProviderRegistry.ts";
import { createExtAuthzHandlers } from "../transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../transport/createHealthHandlers.ts";
import { HealthState } from "../transport/HealthState.ts";
import { startGrpcServer } from "../transport/startGrpcServer.ts";

export interface RunningServer {
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  /** Health NOT_SERVING, in-flight checks finish (bounded by shutdown.graceSeconds), listeners close. */
  stop(): Promise<void>;
}

export async function startServer(config: PortcullisConfig, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.log.level);
  const health = new HealthState("NOT_SERVING");
  let stopping = false;

  // The registry needs the metrics observer and the metrics need the registry's cache size:
  // the observer forwards through this late-bound reference.
  let metricsRef: ReturnType<typeof createMetrics> | null = null;
  const registry = createProviderRegistry(Object.values(config.providers), {
    tokenCacheMaxEntries: config.tokenCache.maxEntries,
    logger,
    observer: {
      jwksFetch: (provider, result) => metricsRef?.jwksFetches.inc({ provider, result }),
      tokenCache: (hit) => metricsRef?.tokenCacheLookups.inc({ result: hit ? "hit" : "miss" }),
    },
  });
  const metrics = createMetrics({
    tokenCacheSize: () => registry.cacheSize(),
    providerReady: () => registry.status().map((s) => ({ provider: s.provider, ready: s.ready })),
  });
  metricsRef = metrics;

  const gate = new Gate({
    normalizePath,
    routes: new RouteTable(config.routes),
    verifier: registry,
    identity: createIdentityHeaders(config.identity),
    forwardAuthorization: config.identity.forwardAuthorization,
  });

  const observer = {
    checked(request: AccessRequest | null, decision: Decision, seconds: number, fault?: unknown) {
      metrics.checks.inc({ decision: decision.kind, reason: decision.kind === "allow" ? decision.reason : decision.code, route: decision.route ?? "(none)" });
      metrics.checkDuration.observe({ decision: decision.kind }, seconds);
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

  // Bind every listener before serving any; if one cannot bind, close the ones that did, so a
  // failed start never leaves a half-started process answering checks.
  const started: Array<() => Promise<void>> = [];
  let grpc: Awaited<ReturnType<typeof startGrpcServer>>;
  let auth: Awaited<ReturnType<typeof startAuthServer>>;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    grpc = await startGrpcServer({
      host: config.listen.grpc.host,
      port: config.listen.grpc.port,
      authorization: createExtAuthzHandlers(gate, observer),
      health: createHealthHandlers(health),
    });
    started.push(() => grpc.shutdown(0));
    auth = await startAuthServer(config.listen.auth);
    started.push(() => auth.close());
    admin = await startAdminServer({
      host: config.listen.admin.host,
      port: config.listen.admin.port,
      registry: metrics.registry,
      notReadyReason: () => {
        if (stopping) return "shutting down";
        if (registry.isReady()) return null;
        const waiting = registry.status().filter((s) => !s.ready).map((s) => s.provider);
        return `waiting for provider keys: ${waiting.join(", ")}`;
      },
    });
  } catch (error) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    registry.close();
    throw error;
  }

  // Discovery and JWKS load in the background; checks answer 503 jwks_unavailable meanwhile, and
  // gRPC health says NOT_SERVING until every provider is ready, so Envoy's health checks prefer
  // replicas that can decide.
  registry.start().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.name : "unknown" }, "provider start failed"));
  const readiness = setInterval(() => {
    if (stopping || !registry.isReady()) return;
    health.set("SERVING");
    clearInterval(readiness);
  }, 100);
  readiness.unref();

  return {
    ports: { grpc: grpc.port, auth: auth.port, admin: admin.port },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(readiness);
      health.drain();
      await grpc.shutdown(config.shutdown.graceSeconds * 1000);
      registry.close();
      await Promise.all([auth.close(), admin.close()]);
    },
  };
}

/** Client-supplied values go into logs bounded, so a huge header cannot flood them. */
function clip(value: string | undefined): string | undefined {
  return value === undefined || value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}
