// `serve`'s `--workers N` / `--workers=N` taken out of its arguments, PORTCULLIS_WORKERS when the flag
// is absent (the flag wins), the value checked by parseWorkersOption. What is left goes on to the
// config-file arguments.
import { parseWorkersOption, type WorkersOption } from "./parseWorkersOption.ts";

export function takeWorkersOption(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { rest: string[]; workers?: WorkersOption } | { error: string } {
  const rest: string[] = [];
  let value: { text: string; source: string } | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? "";
    if (arg === "--workers") {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("-")) return { error: "--workers needs a number or auto" };
      value = { text: next, source: "--workers" };
      i += 1;
    } else if (arg.startsWith("--workers=")) {
      value = { text: arg.slice("--workers=".length), source: "--workers" };
    } else {
      rest.push(arg);
    }
  }
  const fromEnv = env["PORTCULLIS_WORKERS"];
  value ??= fromEnv === undefined || fromEnv === "" ? undefined : { text: fromEnv, source: "PORTCULLIS_WORKERS" };
  if (value === undefined) return { rest };
  const parsed = parseWorkersOption(value.text, value.source);
  return "error" in parsed ? parsed : { rest, workers: parsed.workers };
}
