// `portcullis check-config --config FILE [--strict] [--format text|json] [--envoy | --explain-routes
// [--json]]`: validates a config without starting anything (src/app/checkConfigFile.ts does the work).
// Exit 0 when the check passes, 1 on any problem (with --strict, on any warning) or usage error.

import { type CheckConfigIo, checkConfigFile } from "../app/checkConfigFile.ts";
import { takeCheckConfigFlags } from "../app/takeCheckConfigFlags.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

export type { CheckConfigIo } from "../app/checkConfigFile.ts";

const USAGE =
  "usage: portcullis check-config --config FILE [--strict] [--format text|json] [--envoy | --explain-routes [--json]]";

const HELP =
  "Validates the config file; exit 0 when valid, 1 when not (problems and warnings on stderr).\n" +
  "--strict          warnings fail the check too (exit 1)\n" +
  "--format json     print one JSON document on stdout: {ok, file, strict, problems: [{path, message,\n" +
  "                  severity}], errors, warnings, summary?}; same exit codes (docs/operations.md)\n" +
  "--envoy           print the Envoy ext_authz filter (YAML) with the allowed_headers this config needs\n" +
  "--explain-routes  print the ordered rule table (catch-all included) with each rule's requirements and\n" +
  "                  the rules an earlier one shadows; with --json, as JSON (docs/explain.md)\n";

export async function runCheckConfig(
  argv: string[],
  io: CheckConfigIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(`${USAGE}\n${HELP}`);
    return 0;
  }
  const flags = takeCheckConfigFlags(argv);
  const args = "error" in flags ? flags : parseConfigArgs(flags.rest);
  if ("error" in args || "help" in args || "error" in flags) {
    io.stderr.write(`error: ${"error" in args ? args.error : "--help stands alone"}\n${USAGE}\n`);
    return 1;
  }
  return checkConfigFile(args.file, flags, io);
}
