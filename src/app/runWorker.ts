// The life of one `serve --workers` worker (a node:cluster worker the supervisor forked): load the
// config, start the server on the shared ports with SO_REUSEPORT and no admin listener, tell the
// supervisor where it listens, answer its readiness and metrics questions, reload when it says so,
// and drain when it says stop. Signals are the supervisor's: a terminal's Ctrl-C or hang-up reaches the
// whole process group, and the supervisor relays them once (SIGTERM sent to a worker alone drains it).
// Resolves the exit code.
import { formatIssue } from "../config/ConfigIssue.ts";
import { createLogger } from "../observability/createLogger.ts";
import { createConfigReloader } from "./createConfigReloader.ts";
import { loadCheckedConfig } from "./loadCheckedConfig.ts";
import { startServer, type RunningServer } from "./startServer.ts";
import { isToWorker, type FromWorker, type ToWorker, type WorkerPlace } from "./workerMessages.ts";

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

export async function runWorker(place: WorkerPlace): Promise<number> {
  // Until the server runs, a reload asked for is remembered and applied once it does.
  const early: ToWorker[] = [];
  const remember = (message: unknown) => {
    if (!isToWorker(message)) return;
    // Told to stop before serving (a worker started again may wait for its keys): nothing to drain.
    if (message.portcullis === "stop") process.exit(0);
    early.push(message);
  };
  process.on("message", remember);
  const ignore = () => undefined;
  process.on("SIGINT", ignore);
  process.on("SIGHUP", ignore);
  const result = loadCheckedConfig(place.file, process.env);
  if (!result.ok) {
    for (const p of result.problems) process.stderr.write(`error: worker ${place.id}: ${formatIssue(p)}\n`);
    return 1;
  }
  const logger = createLogger(result.config.log.level).child({ worker: place.id });
  let running: RunningServer;
  try {
    running = await startServer(result.config, {
      logger,
      worker: {
        grpcPort: place.grpcPort,
        authPort: place.authPort,
        ...(place.waitReadyMs !== undefined ? { waitReadyMs: place.waitReadyMs } : {}),
      },
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    logger.error({ code }, `could not start: ${err instanceof Error ? err.message : "unknown error"}`);
    return 1;
  }
  process.off("message", remember);
  send({ portcullis: "listening", grpcPort: running.ports.grpc, authPort: running.ports.auth });
  logger.info({ pid: process.pid, grpcPort: running.ports.grpc, authPort: running.ports.auth }, "worker listening");
  return serveUntilStopped(place, running, logger, early);
}

function serveUntilStopped(
  place: WorkerPlace,
  running: RunningServer,
  logger: ReturnType<typeof createLogger>,
  early: readonly ToWorker[],
): Promise<number> {
  const reloader = createConfigReloader({ file: place.file, env: process.env, server: running, logger });
  return new Promise<number>((resolve) => {
    let stopping = false;
    let stopped = false;
    // A signal sent to the whole process group (Ctrl-C, systemd's control-group kill) reaches this
    // worker and the supervisor, which relays it: only the supervisor's hurry ends the drain early.
    const stop = (why: string, hurry: boolean) => {
      if (stopping) {
        if (!hurry) return;
        logger.info({ why }, "second signal: ending the drain now");
        void running.stop();
        return;
      }
      stopping = true;
      logger.info(
        { why, drainSeconds: running.config().shutdown.drainSeconds },
        "shutting down: health NOT_SERVING, still answering checks until the drain is over",
      );
      running.stop().then(
        () => {
          stopped = true;
          logger.info("stopped");
          resolve(0);
        },
        () => resolve(1),
      );
    };
    const onMessage = (message: unknown) => {
      if (!isToWorker(message)) return;
      if (message.portcullis === "reload") void reloader.reload(message.trigger);
      else if (message.portcullis === "stop") stop("supervisor", message.hurry);
      else if (message.what === "readiness")
        send({ portcullis: "answer", id: message.id, readiness: running.readiness() });
      else
        void running.metrics.registry.getMetricsAsJSON().then(
          (metrics) => send({ portcullis: "answer", id: message.id, metrics }),
          () => send({ portcullis: "answer", id: message.id, metrics: [] }),
        );
    };
    process.on("message", onMessage);
    for (const message of early) onMessage(message);
    process.on("SIGTERM", () => stop("SIGTERM", false));
    // The supervisor is gone (killed, or its channel closed): no one can restart or drain this worker
    // any more, so it drains and ends instead of serving on unsupervised.
    process.on("disconnect", () => {
      if (stopped) return;
      stop("supervisor gone", false);
      stop("supervisor gone", true);
    });
  });
}
