// `portcullis serve --config FILE [--watch] [--workers N|auto]` (or PORTCULLIS_CONFIG,
// PORTCULLIS_WORKERS): parses the arguments and hands the file to the composition root
// (src/app/serveConfigFile.ts), which runs the process.
import { serveConfigFile } from "../app/serveConfigFile.ts";
import { takeWorkersOption } from "../app/takeWorkersOption.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

const USAGE = [
  "usage: portcullis serve --config FILE [--watch] [--workers N|auto]   (or set PORTCULLIS_CONFIG)",
  "  SIGHUP reloads the config; --watch also reloads it when the file changes.",
  "  An invalid config is refused and the running one kept.",
  "  --workers N runs N processes sharing the gRPC and auth ports (SO_REUSEPORT) under one supervisor",
  "  that serves the admin listener for all; auto: one per CPU available (cgroup quota aware).",
  "  Default 1 (one process, no supervisor), or PORTCULLIS_WORKERS.",
].join("\n");

export async function runServe(argv: readonly string[]): Promise<number> {
  const watch = argv.includes("--watch");
  const taken = takeWorkersOption(
    argv.filter((arg) => arg !== "--watch"),
    process.env,
  );
  if ("error" in taken) {
    process.stderr.write(`error: ${taken.error}\n${USAGE}\n`);
    return 1;
  }
  const { rest, workers } = taken;
  const fromEnv = process.env["PORTCULLIS_CONFIG"];
  const args = rest.length === 0 && fromEnv ? { file: fromEnv } : parseConfigArgs(rest);
  if ("help" in args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ("error" in args) {
    process.stderr.write(`error: ${args.error}\n${USAGE}\n`);
    return 1;
  }
  return serveConfigFile({ file: args.file, watch, ...(workers !== undefined ? { workers } : {}) });
}
