// check-config's own flags, taken out of its arguments before the ones every config command shares
// (`--config FILE`) are parsed: the output (`--envoy`, `--explain-routes [--json]`, `--format
// text|json`) and `--strict`. Combinations that cannot both be honoured are usage errors.

export type CheckConfigOutput = "summary" | "envoy" | "routes" | "routes-json" | "report-json";

export interface CheckConfigFlags {
  readonly output: CheckConfigOutput;
  /** Warnings fail the check as problems do (exit 1). */
  readonly strict: boolean;
  /** The arguments left for parseConfigArgs. */
  readonly rest: string[];
}

export function takeCheckConfigFlags(argv: readonly string[]): CheckConfigFlags | { error: string } {
  const rest: string[] = [];
  let envoy = false;
  let explain = false;
  let json = false;
  let strict = false;
  let format: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? "";
    if (arg === "--envoy") envoy = true;
    else if (arg === "--explain-routes") explain = true;
    else if (arg === "--json") json = true;
    else if (arg === "--strict") strict = true;
    else if (arg.startsWith("--format=")) format = arg.slice("--format=".length);
    else if (arg === "--format") {
      format = argv[i + 1] ?? "";
      i += 1;
    } else rest.push(arg);
  }
  if (format !== undefined && format !== "text" && format !== "json")
    return { error: `--format takes text or json (got ${JSON.stringify(format.slice(0, 40))})` };
  if (envoy && explain) return { error: "--envoy and --explain-routes exclude each other" };
  if (json && !explain) return { error: "--json needs --explain-routes" };
  if (format === "json" && (envoy || explain))
    return { error: "--format json reports the check itself; it excludes --envoy and --explain-routes" };
  const output: CheckConfigOutput =
    format === "json" ? "report-json" : envoy ? "envoy" : explain ? (json ? "routes-json" : "routes") : "summary";
  return { output, strict, rest };
}
