// `portcullis check-config --config FILE`: validates a config without starting anything. Lists every
// problem with its key path on stderr and exits 1, or prints a summary on stdout and exits 0.
// Warnings go to stderr in both cases. Values that may be secrets are never printed.

import { formatIssue } from "../config/ConfigIssue.ts";
import { loadCheckedConfig } from "../app/loadCheckedConfig.ts";
import { summarizeConfig } from "../app/summarizeConfig.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

export interface CheckConfigIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

const USAGE = "usage: portcullis check-config --config FILE";

export async function runCheckConfig(
  argv: string[],
  io: CheckConfigIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const args = parseConfigArgs(argv);
  if ("help" in args) {
    io.stdout.write(`${USAGE}\nValidates the config file; exit 0 when valid, 1 when not.\n`);
    return 0;
  }
  if ("error" in args) {
    io.stderr.write(`error: ${args.error}\n${USAGE}\n`);
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
  io.stdout.write(summarizeConfig(args.file, result.config));
  io.stdout.write(`warnings: ${result.warnings.length}${result.warnings.length > 0 ? " (listed on stderr)" : ""}\n`);
  return 0;
}
