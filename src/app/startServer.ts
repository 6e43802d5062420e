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
import { createCheckTracer } from "./createCheckTracer.ts";
import { startConfiguredTracing } from "./startConfiguredTracing.ts";
import { createLivePipeline, type ApplyOutcome } from "./createLivePipeline.ts";
import { startDrainPeriod, type DrainPeriod } from "./startDrainPeriod.ts";

export interface RunningServer {
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  readonly metrics: Metrics;
  /** The config checks are decided by now. */
  config(): PortcullisConfig;
  /** Applies a parsed config without a restart (listeners stay); on anything but ok the old config keeps serving. */
  reload(next: PortcullisConfig): Promise<ApplyOutcome>;
  /**
   * Health NOT_SERVING at once (gRPC Check and Watch, /readyz) while checks and the auth listener
   * are still answered for shutdown.drainSeconds; then no new calls, in-flight checks finish
   * (bounded by shutdown.graceSeconds) and the listeners close. Calling it again during the drain
   * ends the drain early; every call resolves when the server has stopped.
   */
  stop(): Promise<void>;
}

export async function startServer(config: PortcullisConfig, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.log.level);
  const health = new HealthState("NOT_SERVING");
  let stopping = false;
  let drain: DrainPeriod | null = null;
  let stopped: Promise<void> | null = null;

  const live = createLivePipeline(config, logger);
  const { metrics, login } = live;
  // Off by default; set up once per process (a reload cannot change it, see reloadProblems).
  const tracing = startConfiguredTracing(config.tracing, logger);
  const tracer = tracing === null ? undefined : createCheckTracer(tracing);
  const handlers = createExtAuthzHandlers(
    live.gate,
    createCheckObserver(metrics, logger, () => live.current().config.log.audit),
    tracer,
  );
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
    auth = await startAuthServer({ ...config.listen.auth, login, logger });
    started.push(() => auth.close());
    admin = await startAdminServer({
      host: config.listen.admin.host,
      port: config.listen.admin.port,
      registry: metrics.registry,
      notReadyReason: () => {
        if (stopping) return "shutting down";
        if (registry().isReady()) return null;
        const waiting = registry()
          .status()
          .filter((s) => !s.ready)
          .map((s) => s.provider);
        return `waiting for provider keys: ${waiting.join(", ")}`;
      },
      degradedReason: () =>
        live.redis !== null && !live.redis.isUp()
          ? "Redis unreachable (session requests get 503; bearer tokens unaffected)"
          : null,
    });
  } catch (error) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    live.close();
    await tracing?.shutdown();
    throw error;
  }

  // Discovery and JWKS load in the background; checks answer 503 jwks_unavailable meanwhile, and
  // gRPC health says NOT_SERVING until every provider is ready, so Envoy's health checks prefer
  // replicas that can decide.
  live
    .start()
    .catch((err: unknown) =>
      logger.error({ err: err instanceof Error ? err.name : "unknown" }, "provider start failed"),
    );
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
    stop() {
      if (stopped !== null) {
        drain?.end();
        return stopped;
      }
      stopping = true;
      clearInterval(readiness);
      // Load balancers stop sending new work only once their health checks see NOT_SERVING: until
      // the drain is over every check (and every login callback) is still answered.
      health.set("NOT_SERVING");
      const period = startDrainPeriod(live.current().config.shutdown.drainSeconds * 1000);
      drain = period;
      stopped = (async () => {
        await period.over;
        const graceSeconds = live.current().config.shutdown.graceSeconds;
        logger.info(
          { cutShort: period.cutShort, graceSeconds },
          "drain over: refusing new checks, finishing those in flight",
        );
        health.drain();
        // Checks in flight finish (each on the config it started on); a reload waiting for its
        // providers gives up when live.close() runs.
        await grpc.shutdown(graceSeconds * 1000);
        live.close();
        await Promise.all([auth.close(), admin.close()]);
        // The last spans (those of the checks that just finished) are exported before exit.
        await tracing?.shutdown();
      })();
      return stopped;
    },
  };
}
