// The life of one `serve` process after its arguments are parsed: load and check the config (exit 1
// before listening on any problem), start the server, log one ready line, reload the config on SIGHUP
// (and on file change when watching) without dropping a check, and stop gracefully on SIGTERM/SIGINT
// (drain, then finish in-flight checks; a second signal ends the drain early). Resolves the exit code.
// With more than one worker the process becomes their supervisor (superviseWorkers.ts) instead.
import { flushCompileCache } from "node:module";
import { loadCheckedConfig } from "./loadCheckedConfig.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { createLogger } from "../observability/createLogger.ts";
import { countAvailableCpus } from "./countAvailableCpus.ts";
import { createConfigReloader, type ReloadTrigger } from "./createConfigReloader.ts";
import type { WorkersOption } from "./parseWorkersOption.ts";
import { superviseWorkers } from "./superviseWorkers.ts";
import { startServer, type RunningServer } from "./startServer.ts";
import { configSourceFiles, type ConfigFileWatcher } from "./watchConfigFile.ts";
import { watchFiles } from "./watchFiles.ts";
import { workersConfigProblems } from "./workersConfigProblems.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { Logger } from "pino";

export interface ServeOptions {
  readonly file: string;
  /** Also reload when the file changes (SIGHUP always reloads). */
  readonly watch: boolean;
  /** `--workers N|auto`; absent: 1, this one process (no supervisor). */
  readonly workers?: WorkersOption;
}

export async function serveConfigFile(options: ServeOptions): Promise<number> {
  // Until the server runs, a SIGHUP (default action: exit) is remembered and applied once it does.
  let earlyReload = false;
  const onEarlyHangup = () => {
    earlyReload = true;
  };
  process.on("SIGHUP", onEarlyHangup);
  try {
    return await serve(options, () => earlyReload);
  } finally {
    process.off("SIGHUP", onEarlyHangup);
  }
}

async function serve(options: ServeOptions, hangupBeforeReady: () => boolean): Promise<number> {
  const { file, watch } = options;
  const result = loadCheckedConfig(file, process.env);
  if (!result.ok) {
    for (const w of result.warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
    for (const p of result.problems) process.stderr.write(`error: ${formatIssue(p)}\n`);
    process.stderr.write(`${result.problems.length} problem(s) in ${file}; nothing was started\n`);
    return 1;
  }
  const config = result.config;
  const logger = createLogger(config.log.level);
  for (const w of result.warnings) logger.warn({ key: w.path }, w.message);
  const workers = decideWorkers(options.workers ?? 1, config, logger);
  if (typeof workers !== "number") return refuseWorkers(workers, file);
  if (workers > 1) return superviseWorkers({ file, watch, workers, config, logger, hangupBeforeReady });
  let running: RunningServer;
  try {
    running = await startServer(config, { logger });
  } catch (err) {
    const code = (err as { code?: string }).code;
    logger.error({ code }, `could not start: ${err instanceof Error ? err.message : "unknown error"}`);
    return 1;
  }
  const { reload, onHangup, watcher } = startReloading(file, watch, running, logger);
  logger.info(
    {
      grpcPort: running.ports.grpc,
      authPort: running.ports.auth,
      adminPort: running.ports.admin,
      ...(running.ports.forwardAuth === 0 ? {} : { forwardAuthPort: running.ports.forwardAuth }),
      tls: config.listen.tls.certFile !== null,
      providers: Object.keys(config.providers),
      routes: config.routes.length,
      watch: watcher !== null,
    },
    "portcullis ready",
  );
  // With Node's compile cache on (bin/portcullis turns it on; a no-op otherwise), what this start
  // compiled is written now rather than at exit, so the next start gains even if this one is killed.
  flushCompileCache();
  if (hangupBeforeReady()) reload("SIGHUP");
  return await new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        // An operator (or an impatient orchestrator) asks twice: skip what is left of the drain.
        logger.info({ signal }, "second signal: ending the drain now");
        void running.stop();
        return;
      }
      signalled = true;
      watcher?.close();
      process.off("SIGHUP", onHangup);
      logger.info(
        { signal, drainSeconds: running.config().shutdown.drainSeconds },
        "shutting down: health NOT_SERVING, still answering checks until the drain is over",
      );
      running.stop().then(
        () => {
          logger.info("stopped");
          resolve(0);
        },
        () => resolve(1),
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** SIGHUP, and with `watch` a change to the config file or a file it names, reload the config. */
function startReloading(file: string, watch: boolean, running: RunningServer, logger: Logger) {
  const reloader = createConfigReloader({ file, env: process.env, server: running, logger });
  let watcher: ConfigFileWatcher | null = null;
  // A keysFile named (or renamed) by a reloaded config is watched from then on.
  const reload = (trigger: ReloadTrigger) =>
    void reloader.reload(trigger).then(() => watcher?.setFiles(configSourceFiles(file, running.config())));
  const onHangup = () => reload("SIGHUP");
  process.on("SIGHUP", onHangup);
  if (watch) {
    try {
      watcher = watchFiles(configSourceFiles(file, running.config()), () => reload("file change"), { logger });
    } catch (err) {
      logger.warn({ code: (err as NodeJS.ErrnoException).code }, "cannot watch the config file; SIGHUP still reloads");
    }
  }
  return { reload, onHangup, watcher };
}

function refuseWorkers(problems: ReturnType<typeof workersConfigProblems>, file: string): number {
  for (const p of problems) process.stderr.write(`error: ${formatIssue(p)}\n`);
  process.stderr.write(`${problems.length} problem(s) in ${file} for --workers; nothing was started\n`);
  return 1;
}

/**
 * The worker count to run: a number asked for is refused (with the config's problems) when the
 * config needs one process; `auto` (the CPUs available) falls back to 1 then, with a log line.
 */
function decideWorkers(
  asked: WorkersOption,
  config: PortcullisConfig,
  logger: Logger,
): number | ReturnType<typeof workersConfigProblems> {
  const count = asked === "auto" ? countAvailableCpus() : asked;
  if (count === 1) return 1;
  const problems = workersConfigProblems(config, count);
  if (problems.length === 0) return count;
  if (asked !== "auto") return problems;
  logger.warn(
    { cpus: count, keys: problems.map((p) => p.path) },
    `--workers auto: running one process instead of ${count} workers: ${problems.map(formatIssue).join("; ")}`,
  );
  return 1;
}
