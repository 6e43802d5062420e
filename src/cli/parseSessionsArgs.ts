// The arguments of `portcullis sessions`: `list --sub S [--provider P]` or `revoke (--session H |
// --sub S [--provider P])`, with `--admin URL` (the admin listener, default http://127.0.0.1:9464)
// and `--json`. The admin token is never an argument (argv is visible to every local user): it comes
// from PORTCULLIS_ADMIN_TOKEN. Anything else is an error, so a mistyped flag never widens a revoke.
import type { SessionsRequest } from "../app/callSessionsAdmin.ts";

export interface SessionsArgs {
  readonly request: SessionsRequest;
  readonly admin: URL;
  readonly json: boolean;
}

const VALUE_FLAGS = new Set(["--sub", "--provider", "--session", "--admin"]);
const UNEXPECTED = "unexpected value (not shown): give each value after its flag";

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
    else if (arg === "--token" || arg.startsWith("--token="))
      return { error: "the admin token is read from PORTCULLIS_ADMIN_TOKEN, never an argument" };
    else if (!VALUE_FLAGS.has(arg))
      // Named, never quoted whole: a pasted token (alone or as --flag=token) must not reach a CI log.
      return { error: arg.startsWith("-") ? `unknown argument ${JSON.stringify(arg.split("=", 1)[0])}` : UNEXPECTED };
    else if (rest[i + 1] === undefined || rest[i + 1] === "") return { error: `${arg} needs a value` };
    else if (values.has(arg)) return { error: `${arg} is given twice` };
    else values.set(arg, rest[(i += 1)] as string);
  }
  const admin = URL.parse(values.get("--admin") ?? "http://127.0.0.1:9464");
  if (admin === null || (admin.protocol !== "http:" && admin.protocol !== "https:"))
    return { error: "--admin must be the admin listener's http(s) URL, e.g. http://127.0.0.1:9464" };
  const [sub, provider, handle] = [values.get("--sub"), values.get("--provider") ?? null, values.get("--session")];
  let request: SessionsRequest;
  if (command === "list") {
    if (handle !== undefined) return { error: "list takes --sub (and --provider), not --session" };
    if (sub === undefined) return { error: "list needs --sub SUB" };
    request = { kind: "list", sub, provider };
  } else if (handle !== undefined) {
    if (sub !== undefined || provider !== null)
      return { error: "revoke takes either --session HANDLE or --sub SUB [--provider P], not both" };
    request = { kind: "end_session", handle };
  } else if (sub === undefined) return { error: "revoke needs --session HANDLE (from sessions list) or --sub SUB" };
  else request = { kind: "end_user", sub, provider };
  return { request, admin, json };
}
