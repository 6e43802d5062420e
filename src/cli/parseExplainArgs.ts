// The arguments of `portcullis explain`: `--config FILE`, at most one of `--token T` / `--cookie C`,
// `--jwks FILE`, `--json`, `-H 'Name: value'` (repeatable), then METHOD and URL. Anything else is an
// error, so a mistyped flag is reported instead of silently changing the request explained.

export interface ExplainArgs {
  readonly file: string;
  readonly method: string;
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly jwksFile: string | null;
  readonly json: boolean;
}

const VALUE_FLAGS = new Set(["--config", "-c", "--token", "--cookie", "--jwks", "-H", "--header"]);

function header(text: string): readonly [string, string] | null {
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  const name = text.slice(0, colon).trim();
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) ? [name, text.slice(colon + 1).trim()] : null;
}

export function parseExplainArgs(argv: readonly string[]): ExplainArgs | { error: string } | { help: true } {
  const values = new Map<string, string>();
  const headers: (readonly [string, string])[] = [];
  const positional: string[] = [];
  let json = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--json") json = true;
    else if (VALUE_FLAGS.has(arg)) {
      const value = argv[i + 1];
      if (value === undefined) return { error: `${arg} needs a value` };
      i += 1;
      if (arg === "-H" || arg === "--header") {
        const parsed = header(value);
        if (parsed === null) return { error: `-H ${JSON.stringify(value)}: write it as 'Name: value'` };
        headers.push(parsed);
      } else values.set(arg === "-c" ? "--config" : arg, value);
    } else if (arg.startsWith("-")) return { error: `unknown argument ${JSON.stringify(arg)}` };
    else positional.push(arg);
  }
  const file = values.get("--config");
  if (file === undefined || file === "") return { error: "--config FILE is required" };
  if (positional.length !== 2)
    return { error: "give the METHOD and the URL of the request, e.g. GET https://app.example.com/x" };
  const token = values.get("--token");
  const cookie = values.get("--cookie");
  if (token !== undefined && cookie !== undefined) return { error: "--token and --cookie exclude each other" };
  if (token !== undefined) headers.push(["authorization", `Bearer ${token}`]);
  if (cookie !== undefined) headers.push(["cookie", cookie]);
  const [method, url] = positional as [string, string];
  return { file, method: method.toUpperCase(), url, headers, jwksFile: values.get("--jwks") ?? null, json };
}
