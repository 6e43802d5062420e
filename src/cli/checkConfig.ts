// `portcullis check-config --config FILE [--envoy | --explain-routes [--json]]`: validates a config
// without starting anything. Lists every problem with its key path on stderr and exits 1, or prints
// a summary on stdout (with --envoy: the Envoy ext_authz filter this config needs, allowed_headers
// included; with --explain-routes: the ordered rule table and its overlaps) and exits 0.
// Warnings go to stderr in both cases. Values that may be secrets are never printed.

import { formatIssue } from "../config/ConfigIssue.ts";
import { loadCheckedConfig } from "../app/loadCheckedConfig.ts";
import { describeRoutes } from "../app/describeRoutes.ts";
import { renderEnvoyExtAuthzFilter } from "../app/renderEnvoyExtAuthzFilter.ts";
import { renderRouteTable } from "../app/renderRouteTable.ts";
import { summarizeConfig } from "../app/summarizeConfig.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

export interface CheckConfigIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

const USAGE = "usage: portcullis check-config --config FILE [--envoy | --explain-routes [--json]]";
const OWN_FLAGS = ["--envoy", "--explain-routes", "--json"];

export async function runCheckConfig(
  argv: string[],
  io: CheckConfigIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  // These are check-config's own flags; the rest are the arguments every config command takes.
  const envoy = argv.includes("--envoy");
  const explain = argv.includes("--explain-routes");
  const json = argv.includes("--json");
  const args = parseConfigArgs(argv.filter((arg) => !OWN_FLAGS.includes(arg)));
  if ("help" in args) {
    io.stdout.write(
      `${USAGE}\nValidates the config file; exit 0 when valid, 1 when not.\n` +
        "--envoy           print the Envoy ext_authz filter (YAML) with the allowed_headers this config needs\n" +
        "--explain-routes  print the ordered rule table (catch-all included) with each rule's requirements and\n" +
        "                  the rules an earlier one shadows; with --json, as JSON (docs/explain.md)\n",
    );
    return 0;
  }
  const conflict =
    envoy && explain
      ? "--envoy and --explain-routes exclude each other"
      : json && !explain
        ? "--json needs --explain-routes"
        : null;
  if ("error" in args || conflict !== null) {
    io.stderr.write(`error: ${"error" in args ? args.error : conflict}\n${USAGE}\n`);
    return 1;
  }
  const result = loadCheckedConfig(args.file, io.env);
  if (!result.ok) {
    for (const problem of result.problems) io.stderr.write(`error: ${formatIssue(problem)}\n`);
  }
  for (const warning of result.warnings) io.stderr.write(`warning: ${formatIssue(warning)}\n`);
  if (!result.ok) {
    io.stderr.write(`${args.file}: ${result.problems.length} problem(s); the config is invalid\n`);
    return 1;
  }
  if (envoy) {
    io.stdout.write(renderEnvoyExtAuthzFilter(result.config));
    return 0;
  }
  if (explain) {
    const table = describeRoutes(result.config, result.warnings);
    io.stdout.write(json ? `${JSON.stringify(table, null, 2)}\n` : renderRouteTable(table));
    return 0;
  }
  io.stdout.write(summarizeConfig(args.file, result.config));
  io.stdout.write(`warnings: ${result.warnings.length}${result.warnings.length > 0 ? " (listed on stderr)" : ""}\n`);
  return 0;
}
