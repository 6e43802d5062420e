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
    else if (!VALUE_FLAGS.has(arg)) return { error: unknownArgument(arg, i + 2) };
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

/**
 * An argument refused without its value: a pasted token (alone or as `--flag=token`) would
 * otherwise be echoed into a terminal's scrollback or a CI log. `position` counts from the subcommand.
 */
function unknownArgument(arg: string, position: number): string {
  if (!arg.startsWith("-"))
    return `unexpected value as argument ${position} (not shown): give each value after its flag`;
  const eq = arg.indexOf("=");
  const name = JSON.stringify(arg.slice(0, eq < 0 ? 64 : Math.min(eq, 64)));
  return eq < 0 ? `unknown argument ${name}` : `unknown argument ${name} with "=": give the value after a space`;
}
