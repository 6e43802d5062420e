// The composition root: one Portcullis process from a parsed config (used by `serve`, the demo and
// tests). The units, in start-up order:
//   1. logger         pino at log.level (serve passes its own)
//   2. health         gRPC health and /readyz say NOT_SERVING until every provider's keys are loaded
//   3. live pipeline  shared session state (Redis, revocation list), process-wide metrics, and the first
//                     generation: provider registry, login clients, browser login, gate (buildCheckPipeline)
//   4. tracing        OpenTelemetry when `tracing` is configured; once per process
//   5. ext_authz      the handlers over the live gate, with the check observer (metrics, audit log) and tracer;
//                     the forward-auth endpoint over the same gate and observer
//   6. listeners      `listen.tls` loaded and watched (startListenerTls) when set; then
//                     gRPC (ext_authz + health), auth HTTP (/oauth2/*), admin (/metrics, probes, and
//                     the session-control API when admin.api.enabled), the
//                     forward-auth endpoint's own when forwardAuth.listen is set; all bound
//                     before any serves, and a failed bind closes the ones that did
//   7. providers      discovery and JWKS load in the background (checks answer 503 jwks_unavailable meanwhile)
//   8. readiness      health SERVING once every provider is ready
// reload() builds the next generation under the same listeners (createLivePipeline); stop() runs the
// list backwards: NOT_SERVING, the drain, in-flight checks, the pipeline, the listeners, tracing.
// A `serve --workers` worker binds the gRPC and auth ports with SO_REUSEPORT and no admin listener
// (the supervisor serves it from every worker's readiness and metrics).
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { startAuthServer, type ForwardAuthRoute } from "../http/startAuthServer.ts";
import { startForwardAuthServer } from "../http/startForwardAuthServer.ts";
import type { HttpListener } from "../observability/listenHttpServer.ts";
import { createLogger } from "../observability/createLogger.ts";
import { adminActionsCounter } from "../observability/adminActionsCounter.ts";
import { startAdminServer } from "../observability/startAdminServer.ts";
import { createHealthHandlers } from "../transport/createHealthHandlers.ts";
import { HealthState } from "../transport/HealthState.ts";
import { startCheckServer } from "../transport/startCheckServer.ts";
import type { GrpcServer } from "../transport/startGrpcServer.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { createExtAuthzHandlers, type CheckObserver } from "../transport/createExtAuthzHandlers.ts";
import { adminApiSettings } from "./adminApiSettings.ts";
import { createAdminApi } from "./createAdminApi.ts";
import { createCheckObserver } from "./createCheckObserver.ts";
import { createCheckTracer } from "./createCheckTracer.ts";
import { createForwardAuthRoute } from "./createForwardAuthRoute.ts";
import { ownForwardAuthListener } from "./reloadProblems.ts";
import { startConfiguredTracing } from "./startConfiguredTracing.ts";
import { createLivePipeline } from "./createLivePipeline.ts";
import type { ApplyOutcome } from "./prepareReload.ts";
import { startDrainPeriod, type DrainPeriod } from "./startDrainPeriod.ts";
import type { LivePipeline } from "./createLivePipeline.ts";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { startConfiguredTls } from "./startConfiguredTls.ts";
import type { RunningListenerTls } from "./startListenerTls.ts";

export interface RunningServer {
  /** forwardAuth: the endpoint's own listener (0 when it has none). */
  readonly ports: {
    readonly grpc: number;
    readonly auth: number;
    readonly admin: number;
    readonly forwardAuth: number;
  };
  readonly metrics: Metrics;
  /** Why the process is not ready (null when it is), and what is degraded without making it unready: /readyz's answer. */
  readiness(): { readonly notReady: string | null; readonly degraded: string | null };
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

export interface ServerOptions {
  readonly logger?: Logger;
  /** The process's one clock: every unit's time and timers (readiness, drain, pipeline); default: the system clock. */
  readonly clock?: Clock;
  /**
   * Run as one of `serve --workers` processes: the gRPC and auth listeners bind these ports with
   * SO_REUSEPORT (the config's own ports, or the first worker's when the config says 0), and no admin
   * listener is bound (ports.admin is 0).
   */
  readonly worker?: { readonly grpcPort: number; readonly authPort: number; readonly waitReadyMs?: number };
}

export async function startServer(config: PortcullisConfig, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.log.level); // 1
  const health = new HealthState("NOT_SERVING"); // 2
  const clock = options.clock ?? systemClock;
  const live = createLivePipeline(config, logger, clock); // 3
  // 4: off by default; a reload cannot change it (see reloadProblems).
  const tracing = await startConfiguredTracing(config.tracing, logger).catch((error: unknown) => {
    live.close();
    throw error;
  });
  const tracer = tracing === null ? undefined : createCheckTracer(tracing);
  const observer = createCheckObserver(live.metrics, logger, () => live.current().config.log.audit);
  const handlers = createExtAuthzHandlers(live.gate, observer, tracer); // 5
  let stopping = false;
  let listeners: Listeners;
  try {
    // A worker the supervisor starts again joins the shared ports only once its keys are loaded (or
    // after waitReadyMs): its siblings answer meanwhile, where a connection the kernel handed it
    // would get 503 jwks_unavailable.
    if (options.worker?.waitReadyMs !== undefined) await untilReady(live, clock, options.worker.waitReadyMs);
    const units = { live, logger, health, handlers, observer, stopping: () => stopping, worker: options.worker, clock };
    listeners = await bindListeners(config, units); // 6
  } catch (error) {
    live.close();
    await tracing?.shutdown();
    throw error;
  }
  // 7: Envoy's health checks prefer replicas that can decide, so health stays NOT_SERVING meanwhile.
  live
    .start()
    .catch((err: unknown) =>
      logger.error({ err: err instanceof Error ? err.name : "unknown" }, "provider start failed"),
    );
  const readiness = clock.setInterval(() => {
    if (stopping || !live.current().registry.isReady()) return;
    health.set("SERVING"); // 8
    readiness.cancel();
  }, 100);

  const { grpc, auth, admin } = listeners;
  let drain: DrainPeriod | null = null;
  let stopped: Promise<void> | null = null;
  return {
    ports: { grpc: grpc.port, auth: auth.port, admin: admin?.port ?? 0, forwardAuth: listeners.forwardAuth?.port ?? 0 },
    metrics: live.metrics,
    readiness: () => ({ notReady: notReadyReason(live, health, () => stopping), degraded: degradedReason(live) }),
    config: () => live.current().config,
    reload: reloadWith(live, listeners.tls),
    stop() {
      if (stopped !== null) {
        drain?.end();
        return stopped;
      }
      stopping = true;
      readiness.cancel();
      // Load balancers stop sending new work only once their health checks see NOT_SERVING: until
      // the drain is over every check (and every login callback) is still answered.
      health.set("NOT_SERVING");
      const period = startDrainPeriod(live.current().config.shutdown.drainSeconds * 1000, clock);
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
        await Promise.all([auth.close(), admin?.close(), listeners.forwardAuth?.close(), listeners.tls?.close()]);
        // The last spans (those of the checks that just finished) are exported before exit.
        await tracing?.shutdown();
      })();
      return stopped;
    },
  };
}

interface Listeners {
  readonly grpc: GrpcServer;
  readonly auth: Awaited<ReturnType<typeof startAuthServer>>;
  readonly admin: Awaited<ReturnType<typeof startAdminServer>> | null;
  /** The forward-auth endpoint's own listener; null when it has none. */
  readonly forwardAuth: HttpListener | null;
  /** `listen.tls` of the gRPC and auth listeners, its files watched; null = plaintext. */
  readonly tls: RunningListenerTls | null;
}

interface ListenerUnits {
  readonly live: LivePipeline;
  readonly logger: Logger;
  readonly health: HealthState;
  readonly handlers: UntypedServiceImplementation;
  /** Checks answered on the forward-auth endpoint are observed as the ext_authz ones are. */
  readonly observer: CheckObserver;
  readonly stopping: () => boolean;
  readonly worker: ServerOptions["worker"];
  readonly clock: Clock;
}

/** Binds every listener before any serves; if one cannot bind, the ones that did are closed, so a failed start never leaves a half-started process answering checks. */
async function bindListeners(config: PortcullisConfig, units: ListenerUnits): Promise<Listeners> {
  const { live, logger, health, handlers, worker, clock } = units;
  const reusePort = worker !== undefined;
  const forwardAuthRoute = createForwardAuthRoute(live.gate, units.observer, () => live.current().config);
  const started: Array<() => Promise<void>> = [];
  try {
    const listenerTls = startConfiguredTls(config, logger, live.metrics, clock);
    if (listenerTls !== null) started.push(async () => listenerTls.close());
    const tls = listenerTls === null ? {} : { tls: listenerTls };
    const grpc = await startCheckServer(config.listen.grpcTransport, {
      host: config.listen.grpc.host,
      port: worker?.grpcPort ?? config.listen.grpc.port,
      authorization: handlers,
      health: createHealthHandlers(health),
      ...(reusePort ? { reusePort } : {}),
      ...tls,
    });
    started.push(() => grpc.shutdown(0));
    const authPort = worker?.authPort ?? config.listen.auth.port;
    const auth = await startAuthServer({
      ...config.listen.auth,
      port: authPort,
      reusePort,
      login: live.login,
      assertionDocuments: () => live.current().assertion?.documents() ?? null,
      forwardAuth: forwardAuthRoute.onAuthListener,
      logger,
      ...tls,
    });
    started.push(() => auth.close());
    const forwardAuth = await startOwnForwardAuthListener(config, forwardAuthRoute.own, reusePort);
    if (forwardAuth !== null) started.push(() => forwardAuth.close());
    const admin = reusePort
      ? null
      : await startAdminServer({
          host: config.listen.admin.host,
          port: config.listen.admin.port,
          registry: live.metrics.registry,
          notReadyReason: () => notReadyReason(live, health, units.stopping),
          degradedReason: () => degradedReason(live),
          adminApi: createAdminApi({
            settings: () => adminApiSettings(live.current().config, live, clock),
            counter: adminActionsCounter(live.metrics.registry),
            logger,
          }),
        });
    return { grpc, auth, admin, forwardAuth, tls: listenerTls };
  } catch (error) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

/** The forward-auth endpoint's own listener when forwardAuth.listen is set; null otherwise. */
async function startOwnForwardAuthListener(
  config: PortcullisConfig,
  route: () => ForwardAuthRoute | null,
  reusePort: boolean,
): Promise<HttpListener | null> {
  const own = ownForwardAuthListener(config);
  if (own === null) return null;
  return startForwardAuthServer({ ...own, reusePort, route });
}

/** A reload (SIGHUP, --watch) applies the config and reads the certificate files again (they are watched too). */
function reloadWith(live: LivePipeline, tls: RunningListenerTls | null): RunningServer["reload"] {
  return (next) => {
    tls?.reload();
    return live.apply(next);
  };
}

function notReadyReason(live: LivePipeline, health: HealthState, stopping: () => boolean): string | null {
  if (stopping()) return "shutting down";
  const registry = live.current().registry;
  // /readyz and gRPC health agree: keys may load up to one readiness tick before health says
  // SERVING, and a caller told "ready" (a harness, a rollout) must not then meet NOT_SERVING.
  if (registry.isReady()) return health.status === "SERVING" ? null : "starting: health not yet SERVING";
  const waiting = registry
    .status()
    .filter((s) => !s.ready)
    .map((s) => s.provider);
  return `waiting for provider keys: ${waiting.join(", ")}`;
}

function degradedReason(live: LivePipeline): string | null {
  return live.redis !== null && !live.redis.isUp()
    ? "Redis unreachable (session requests get 503; bearer tokens unaffected)"
    : null;
}

async function untilReady(live: LivePipeline, clock: Clock, waitMs: number): Promise<void> {
  await live.start();
  const until = clock.now() + waitMs;
  await new Promise<void>((resolve) => {
    const poll = clock.setInterval(() => {
      if (!live.current().registry.isReady() && clock.now() < until) return;
      poll.cancel();
      resolve();
    }, 100);
  });
}
