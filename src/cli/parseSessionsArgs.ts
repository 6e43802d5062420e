// The arguments of `portcullis sessions`: `list --sub S [--provider P]` or `revoke (--session H |
// --sub S [--provider P])`, with `--admin URL` (the admin listener, default http://127.0.0.1:9464)
// and `--json`. The admin token is never an argument (argv is visible to every local user): it comes
// from PORTCULLIS_ADMIN_TOKEN. Anything else is an error, so a mistyped flag never widens a revoke.

export type SessionsArgs =
  | { readonly command: "list"; readonly sub: string; readonly provider: string | null; readonly common: Common }
  | {
      readonly command: "revoke";
      readonly target: { readonly session: string } | { readonly sub: string; readonly provider: string | null };
      readonly common: Common;
    };

interface Common {
  readonly admin: URL;
  readonly json: boolean;
}

export const DEFAULT_ADMIN_URL = "http://127.0.0.1:9464";
const VALUE_FLAGS = new Set(["--sub", "--provider", "--session", "--admin"]);

export function parseSessionsArgs(argv: readonly string[]): SessionsArgs | { error: string } | { help: true } {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") return { help: true };
  if (command !== "list" && command !== "revoke") return { error: "give a subcommand: list or revoke" };
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? "";
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--json") json = true;
    else if (VALUE_FLAGS.has(arg)) {
      const value = rest[i + 1];
      if (value === undefined || value === "") return { error: `${arg} needs a value` };
      if (values.has(arg)) return { error: `${arg} is given twice` };
      values.set(arg, value);
      i += 1;
    } else if (arg === "--token")
      return { error: "the admin token is read from PORTCULLIS_ADMIN_TOKEN, never an argument" };
    else return { error: `unknown argument ${JSON.stringify(arg)}` };
  }
  const admin = URL.parse(values.get("--admin") ?? DEFAULT_ADMIN_URL);
  if (admin === null || (admin.protocol !== "http:" && admin.protocol !== "https:"))
    return { error: "--admin must be the admin listener's http(s) URL, e.g. http://127.0.0.1:9464" };
  const common = { admin, json };
  const sub = values.get("--sub") ?? null;
  const provider = values.get("--provider") ?? null;
  const session = values.get("--session") ?? null;
  if (command === "list") {
    if (session !== null) return { error: "list takes --sub (and --provider), not --session" };
    if (sub === null) return { error: "list needs --sub SUB" };
    return { command, sub, provider, common };
  }
  if (session !== null && (sub !== null || provider !== null))
    return { error: "revoke takes either --session HANDLE or --sub SUB [--provider P], not both" };
  if (session !== null) return { command, target: { session }, common };
  if (sub === null) return { error: "revoke needs --session HANDLE (from sessions list) or --sub SUB" };
  return { command, target: { sub, provider }, common };
}
