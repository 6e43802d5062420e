// Runs one Portcullis process from a parsed config: the Check pipeline behind gRPC ext_authz +
// health, the auth listener and the admin listener. Used by `serve`, by the demo and by tests.
// reload() swaps the pipeline under the same listeners (see createLivePipeline).
import type { Logger } from "pino";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { startAuthServer } from "../http/startAuthServer.ts";
import { createLogger } from "../observability/createLogger.ts";
import { startAdminServer } from "../observability/startAdminServer.ts";
import { createHealthHandlers } from "../transport/createHealthHandlers.ts";
import { HealthState } from "../transport/HealthState.ts";
import { startGrpcServer } from "../transport/startGrpcServer.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { createExtAuthzHandlers } from "../transport/createExtAuthzHandlers.ts";
import { createCheckObserver } from "./createCheckObserver.ts";
import { createLivePipeline, type ApplyOutcome } from "./createLivePipeline.ts";

export interface RunningServer {
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  readonly metrics: Metrics;
  /** The config checks are decided by now. */
  config(): PortcullisConfig;
  /** Applies a parsed config without a restart (listeners stay); on anything but ok the old config keeps serving. */
  reload(next: PortcullisConfig): Promise<ApplyOutcome>;
  /** Health NOT_SERVING, in-flight checks finish (bounded by shutdown.graceSeconds), listeners close. */
  stop(): Promise<void>;
}

export async function startServer(config: PortcullisConfig, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.log.level);
  const health = new HealthState("NOT_SERVING");
  let stopping = false;

  const live = createLivePipeline(config, logger);
  const { metrics, sessions } = live;
  const handlers = createExtAuthzHandlers(live.gate, createCheckObserver(metrics, logger, () => live.current().config.log.audit));
  const registry = () => live.current().registry;

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
      authorization: handlers,
      health: createHealthHandlers(health),
    });
    started.push(() => grpc.shutdown(0));
    auth = await startAuthServer({ ...config.listen.auth, sessions, logger });
    started.push(() => auth.close());
    admin = await startAdminServer({
      host: config.listen.admin.host,
      port: config.listen.admin.port,
      registry: metrics.registry,
      notReadyReason: () => {
        if (stopping) return "shutting down";
        if (registry().isReady()) return null;
        const waiting = registry().status().filter((s) => !s.ready).map((s) => s.provider);
        return `waiting for provider keys: ${waiting.join(", ")}`;
      },
    });
  } catch (error) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    live.close();
    throw error;
  }

  // Discovery and JWKS load in the background; checks answer 503 jwks_unavailable meanwhile, and
  // gRPC health says NOT_SERVING until every provider is ready, so Envoy's health checks prefer
  // replicas that can decide.
  live.start().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.name : "unknown" }, "provider start failed"));
  const readiness = setInterval(() => {
    if (stopping || !registry().isReady()) return;
    health.set("SERVING");
    clearInterval(readiness);
  }, 100);
  readiness.unref();

  return {
    ports: { grpc: grpc.port, auth: auth.port, admin: admin.port },
    metrics,
    config: () => live.current().config,
    reload: (next) => live.apply(next),
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(readiness);
      health.drain();
      // Checks in flight finish (each on the config it started on); a reload waiting for its
      // providers gives up when live.close() runs.
      await grpc.shutdown(live.current().config.shutdown.graceSeconds * 1000);
      live.close();
      await Promise.all([auth.close(), admin.close()]);
    },
  };
}

