// `check-config` once its arguments are read: loads the file with every rule there is, reports
// problems and warnings (as text on stderr, or as one JSON document on stdout) and prints the asked
// output for a passing config. Exit code 0 when the check passes, 1 when not (--strict: warnings too).

import { formatIssue } from "../config/ConfigIssue.ts";
import { describeRoutes } from "./describeRoutes.ts";
import { loadCheckedConfig } from "./loadCheckedConfig.ts";
import { checkPasses, checkReportOf, renderCheckReport } from "./renderCheckReport.ts";
import { renderEnvoyExtAuthzFilter } from "./renderEnvoyExtAuthzFilter.ts";
import { renderRouteTable } from "./renderRouteTable.ts";
import { summarizeConfig } from "./summarizeConfig.ts";
import type { CheckConfigFlags } from "./takeCheckConfigFlags.ts";

export interface CheckConfigIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

export function checkConfigFile(file: string, flags: CheckConfigFlags, io: CheckConfigIo): number {
  const result = loadCheckedConfig(file, io.env);
  const passes = checkPasses(result, flags.strict);
  if (flags.output === "report-json") {
    const summary = result.ok ? summarizeConfig(file, result.config) : undefined;
    io.stdout.write(renderCheckReport(checkReportOf(file, result, flags.strict, summary)));
    return passes ? 0 : 1;
  }
  if (!result.ok) for (const problem of result.problems) io.stderr.write(`error: ${formatIssue(problem)}\n`);
  for (const warning of result.warnings) io.stderr.write(`warning: ${formatIssue(warning)}\n`);
  if (!result.ok) {
    io.stderr.write(`${file}: ${result.problems.length} problem(s); the config is invalid\n`);
    return 1;
  }
  if (!passes) {
    io.stderr.write(`${file}: ${result.warnings.length} warning(s); --strict refuses a config with warnings\n`);
    return 1;
  }
  if (flags.output === "envoy") {
    io.stdout.write(renderEnvoyExtAuthzFilter(result.config));
  } else if (flags.output === "routes" || flags.output === "routes-json") {
    const table = describeRoutes(result.config, result.warnings);
    io.stdout.write(flags.output === "routes-json" ? `${JSON.stringify(table, null, 2)}\n` : renderRouteTable(table));
  } else {
    io.stdout.write(summarizeConfig(file, result.config));
    const listed = result.warnings.length > 0 ? " (listed on stderr)" : "";
    io.stdout.write(`warnings: ${result.warnings.length}${listed}\n`);
  }
  return 0;
}
