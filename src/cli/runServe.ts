// `portcullis serve --config FILE`: load and check the config (exit 1 before listening on any
// problem), start the server, log one ready line, and stop gracefully on SIGTERM/SIGINT.
import { loadConfigFile } from "../config/loadConfigFile.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { createLogger } from "../observability/createLogger.ts";
import { readFlag } from "./readFlag.ts";
import { startServer } from "./startServer.ts";

export async function runServe(argv: readonly string[]): Promise<number> {
  const file = readFlag(argv, "--config") ?? process.env["PORTCULLIS_CONFIG"];
  if (!file) {
    process.stderr.write("error: serve needs --config FILE (or PORTCULLIS_CONFIG)\n");
    return 1;
  }
  const result = loadConfigFile(file, process.env);
  if (!result.ok) {
    for (const w of result.warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
    for (const p of result.problems) process.stderr.write(`error: ${formatIssue(p)}\n`);
    process.stderr.write(`${result.problems.length} problem(s) in ${file}; nothing was started\n`);
    return 1;
  }
  const config = result.config;
  const logger = createLogger(config.log.level);
  for (const w of result.warnings) logger.warn({ key: w.path }, w.message);
  let server;
  try {
    server = await startServer(config, { logger });
  } catch (err) {
    const code = (err as { code?: string }).code;
    logger.error({ code }, `could not start: ${err instanceof Error ? err.message : "unknown error"}`);
    return 1;
  }
  logger.info(
    { grpcPort: server.ports.grpc, authPort: server.ports.auth, adminPort: server.ports.admin, providers: Object.keys(config.providers), routes: config.routes.length },
    "portcullis ready",
  );
  const running = server;
  return await new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info({ signal }, "shutting down: health NOT_SERVING, finishing in-flight checks");
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
