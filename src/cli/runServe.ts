// `portcullis serve --config FILE`: load and check the config (exit 1 before listening on any
// problem), start the server, log one ready line, and stop gracefully on SIGTERM/SIGINT.
import { loadConfigFile } from "../config/loadConfigFile.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { createLogger } from "../observability/createLogger.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";
import { startServer } from "./startServer.ts";

const USAGE = "usage: portcullis serve --config FILE   (or set PORTCULLIS_CONFIG)";

export async function runServe(argv: readonly string[]): Promise<number> {
  const fromEnv = process.env["PORTCULLIS_CONFIG"];
  const args = argv.length === 0 && fromEnv ? { file: fromEnv } : parseConfigArgs(argv);
  if ("help" in args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ("error" in args) {
    process.stderr.write(`error: ${args.error}\n${USAGE}\n`);
    return 1;
  }
  const { file } = args;
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
