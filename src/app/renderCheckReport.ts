// The outcome of `check-config` as one JSON document (`--format json`) for scripts and CI: every
// problem and warning with its key path and severity, the verdict (`--strict` counts warnings as
// failing) and, for a config that parsed, the summary lines. Messages are the parser's own, which
// never quote a secret.

import type { ConfigIssue } from "../config/ConfigIssue.ts";
import type { ConfigResult } from "../config/ConfigResult.ts";

export interface CheckReportIssue {
  readonly path: string;
  readonly message: string;
  readonly severity: "error" | "warning";
}

export interface CheckReport {
  readonly ok: boolean;
  readonly file: string;
  readonly strict: boolean;
  /** Errors first, then warnings, each in the order the checks found them. */
  readonly problems: readonly CheckReportIssue[];
  readonly errors: number;
  readonly warnings: number;
  /** The lines of the text summary, present when the config parsed (even if --strict refuses it). */
  readonly summary?: readonly string[];
}

/** True when the check passes: no problem, and no warning under --strict. */
export function checkPasses(result: ConfigResult, strict: boolean): boolean {
  return result.ok && !(strict && result.warnings.length > 0);
}

const issue = (severity: CheckReportIssue["severity"]) => (found: ConfigIssue) => ({
  path: found.path,
  message: found.message,
  severity,
});

export function checkReportOf(file: string, result: ConfigResult, strict: boolean, summary?: string): CheckReport {
  const errors = result.ok ? [] : result.problems.map(issue("error"));
  return {
    ok: checkPasses(result, strict),
    file,
    strict,
    problems: [...errors, ...result.warnings.map(issue("warning"))],
    errors: errors.length,
    warnings: result.warnings.length,
    ...(summary === undefined ? {} : { summary: summary.split("\n").filter((line) => line !== "") }),
  };
}

export function renderCheckReport(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
