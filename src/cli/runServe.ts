// `portcullis serve --config FILE [--watch]` (or PORTCULLIS_CONFIG): parses the arguments and hands
// the file to the composition root (src/app/serveConfigFile.ts), which runs the process.
import { serveConfigFile } from "../app/serveConfigFile.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

const USAGE = [
  "usage: portcullis serve --config FILE [--watch]   (or set PORTCULLIS_CONFIG)",
  "  SIGHUP reloads the config; --watch also reloads it when the file changes.",
  "  An invalid config is refused and the running one kept.",
].join("\n");

export async function runServe(argv: readonly string[]): Promise<number> {
  const watch = argv.includes("--watch");
  const rest = argv.filter((arg) => arg !== "--watch");
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
  return serveConfigFile({ file: args.file, watch });
}
