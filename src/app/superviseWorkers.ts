// The `serve --workers N` supervisor (N > 1): forks N workers that each run the whole server on the
// shared gRPC and auth ports (SO_REUSEPORT: the kernel spreads connections), serves the admin listener
// once for all of them (/readyz: every worker ready; /healthz: some worker serving; /metrics: their
// registries aggregated; the admin API with its own Redis connection, createSupervisorAdminApi), logs the one ready line, relays SIGHUP and --watch reloads to every worker,
// restarts a worker that dies (with a back-off), and on SIGTERM/SIGINT drains them all and exits after
// them (1 if one failed). It never answers a check itself. Resolves the exit code.
import { createServer } from "node:net";
import type { Logger } from "pino";
import type { ListenAddress, PortcullisConfig } from "../config/PortcullisConfig.ts";
import { startAdminServer, type AdminServer } from "../observability/startAdminServer.ts";
import { createWorkerMetricsAggregator } from "./aggregateWorkerMetrics.ts";
import { createSupervisorAdminApi, type SupervisorAdminApi } from "./createSupervisorAdminApi.ts";
import { loadCheckedConfig } from "./loadCheckedConfig.ts";
import { startWorkerPool, type WorkerPool } from "./startWorkerPool.ts";
import { configSourceFiles, type ConfigFileWatcher } from "./watchConfigFile.ts";
import { watchFiles } from "./watchFiles.ts";
import type { WorkerReadiness } from "./workerMessages.ts";

export interface SuperviseOptions {
  readonly file: string;
  readonly watch: boolean;
  readonly workers: number;
  readonly config: PortcullisConfig;
  readonly logger: Logger;
  /** Whether a SIGHUP came before the workers listened (applied once they do). */
  readonly hangupBeforeReady: () => boolean;
}

/** How often the supervisor asks every worker whether it is ready (what /readyz answers from). */
const READINESS_POLL_MS = 250;

export async function superviseWorkers(options: SuperviseOptions): Promise<number> {
  const { config, logger, workers } = options;
  const taken = await portsTaken(config);
  if (taken !== null) {
    logger.error({ code: "EADDRINUSE" }, `could not start: ${taken}`);
    return 1;
  }
  let stopping = false;
  let readiness: ReadonlyArray<{ id: number; readiness: WorkerReadiness | null }> = [];
  let pool: WorkerPool | null = null;
  let admin: AdminServer;
  const aggregator = createWorkerMetricsAggregator();
  const adminApi = createSupervisorAdminApi(config, logger);
  try {
    admin = await startAdminServer({
      host: config.listen.admin.host,
      port: config.listen.admin.port,
      registry: {
        contentType: "text/plain; version=0.0.4; charset=utf-8",
        metrics: async () => {
          if (pool === null) return "";
          const perWorker = await pool.ask("metrics");
          const summed = await aggregator.aggregate(perWorker, { ...pool.counts(), ready: readyCount(readiness) });
          return summed + (await adminApi.metrics());
        },
      },
      notReadyReason: () => notReadyReason(stopping, pool, readiness),
      unhealthyReason: () => (pool !== null && pool.counts().listening === 0 ? "no worker is running" : null),
      degradedReason: () => readiness.find((r) => r.readiness?.degraded)?.readiness?.degraded ?? null,
      adminApi: adminApi.api,
    });
  } catch (err) {
    adminApi.close();
    const code = (err as { code?: string }).code;
    logger.error({ code }, `could not start: ${err instanceof Error ? err.message : "unknown error"}`);
    return 1;
  }
  const running = startWorkerPool({
    file: options.file,
    workers,
    grpcPort: config.listen.grpc.port,
    authPort: config.listen.auth.port,
    logger,
  });
  pool = running;
  const poll = setInterval(() => {
    void running.ask("readiness").then((answers) => {
      readiness = answers;
    });
  }, READINESS_POLL_MS);
  let ports: { grpcPort: number; authPort: number };
  try {
    ports = await running.started;
  } catch (err) {
    logger.error({ workers }, `could not start: ${err instanceof Error ? err.message : "a worker failed"}`);
    clearInterval(poll);
    await running.stop();
    await admin.close();
    adminApi.close();
    return 1;
  }
  return superviseUntilStopped(options, { pool: running, admin, adminApi, ports, poll }, () => {
    stopping = true;
  });
}

interface Supervised {
  readonly pool: WorkerPool;
  readonly admin: AdminServer;
  readonly adminApi: SupervisorAdminApi;
  readonly ports: { grpcPort: number; authPort: number };
  readonly poll: NodeJS.Timeout;
}

async function superviseUntilStopped(
  options: SuperviseOptions,
  { pool, admin, adminApi, ports, poll }: Supervised,
  markStopping: () => void,
): Promise<number> {
  const { config, logger, file } = options;
  let watcher: ConfigFileWatcher | null = null;
  const reload = (trigger: "SIGHUP" | "file change") => {
    // The supervisor's own part of the config, its admin API: a rotated or withdrawn token must be
    // refused here at once. A config that does not load is reported by the workers, which keep theirs.
    try {
      const loaded = loadCheckedConfig(file, process.env);
      if (loaded.ok) adminApi.reload(loaded.config);
      // A keysFile named (or renamed) by the new config is watched from now on.
      if (loaded.ok) watcher?.setFiles(configSourceFiles(file, loaded.config));
    } catch (err) {
      logger.warn({ error: err instanceof Error ? err.name : "unknown" }, "the supervisor could not read the config");
    }
    pool.broadcast({ portcullis: "reload", trigger });
  };
  const onHangup = () => reload("SIGHUP");
  process.on("SIGHUP", onHangup);
  if (options.watch) {
    try {
      watcher = watchFiles(configSourceFiles(file, config), () => reload("file change"), { logger });
    } catch (err) {
      logger.warn({ code: (err as NodeJS.ErrnoException).code }, "cannot watch the config file; SIGHUP still reloads");
    }
  }
  logger.info(
    {
      grpcPort: ports.grpcPort,
      authPort: ports.authPort,
      adminPort: admin.port,
      tls: config.listen.tls.certFile !== null,
      providers: Object.keys(config.providers),
      routes: config.routes.length,
      watch: watcher !== null,
      workers: options.workers,
    },
    "portcullis ready",
  );
  if (options.hangupBeforeReady()) reload("SIGHUP");
  return await new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.info({ signal }, "second signal: ending every worker's drain now");
        void pool.stop();
        return;
      }
      signalled = true;
      markStopping();
      watcher?.close();
      process.off("SIGHUP", onHangup);
      logger.info(
        { signal, workers: options.workers, drainSeconds: config.shutdown.drainSeconds },
        "shutting down: every worker drains (health NOT_SERVING, still answering checks until the drain is over)",
      );
      void pool.stop().then(async (allClean) => {
        clearInterval(poll);
        await admin.close();
        adminApi.close();
        if (allClean) logger.info("stopped");
        else logger.error("stopped; a worker did not stop cleanly");
        resolve(allClean ? 0 : 1);
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

function readyCount(readiness: ReadonlyArray<{ readiness: WorkerReadiness | null }>): number {
  return readiness.filter((r) => r.readiness !== null && r.readiness.notReady === null).length;
}

function notReadyReason(
  stopping: boolean,
  pool: WorkerPool | null,
  readiness: ReadonlyArray<{ id: number; readiness: WorkerReadiness | null }>,
): string | null {
  if (stopping) return "shutting down";
  if (pool === null) return "starting workers";
  const { configured, listening } = pool.counts();
  if (listening < configured) return `${listening} of ${configured} workers running`;
  if (readiness.length < configured) return `${readiness.length} of ${configured} workers answered`;
  for (const r of readiness) {
    if (r.readiness === null) return `worker ${r.id} has not answered (starting, or busy past 2 s)`;
    if (r.readiness.notReady !== null) return `worker ${r.id}: ${r.readiness.notReady}`;
  }
  return null;
}

/**
 * A fixed port some other process already listens on: with SO_REUSEPORT another `serve --workers` of
 * the same user could join it silently and split the traffic, so the supervisor makes sure first that
 * the ports are free (a listen without SO_REUSEPORT fails on any port in use).
 */
async function portsTaken(config: PortcullisConfig): Promise<string | null> {
  for (const key of ["grpc", "auth"] as const) {
    const listen = config.listen[key];
    if (listen.port === 0) continue;
    const problem = await probe(listen);
    if (problem !== null) return `listen.${key} ${listen.host}:${listen.port}: ${problem}`;
  }
  return null;
}

function probe(listen: ListenAddress): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) =>
      resolve(err.code === "EADDRINUSE" ? "address in use" : err.message),
    );
    server.listen({ port: listen.port, host: listen.host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}
