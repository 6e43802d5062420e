// `portcullis sessions list|revoke`: the admin API (docs/sessions-admin.md) from the command line.
// The token comes from PORTCULLIS_ADMIN_TOKEN; answers print as a table (or the API's JSON with
// --json); an error answer prints its code and detail to stderr and exits 1, a usage error exits 2.
import { parseSessionsArgs, type SessionsArgs } from "./parseSessionsArgs.ts";
import { renderSessionsAnswer } from "./renderSessionsAnswer.ts";

const USAGE = `Usage:
  portcullis sessions list --sub SUB [--provider P] [--admin URL] [--json]
      the user's active sessions (needs session.store: redis)
  portcullis sessions revoke --session HANDLE [--admin URL] [--json]
      end one session (HANDLE from sessions list) on every replica
  portcullis sessions revoke --sub SUB [--provider P] [--admin URL] [--json]
      end every session of the user (at P, or at every provider) on every replica

  --admin URL   the admin listener (default http://127.0.0.1:9464)
  The admin token (admin.api.token) is read from PORTCULLIS_ADMIN_TOKEN.
`;

const TIMEOUT_MS = 10_000;

export async function runSessions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const args = parseSessionsArgs(argv);
  if ("help" in args) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ("error" in args) {
    process.stderr.write(`portcullis sessions: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  const token = env["PORTCULLIS_ADMIN_TOKEN"];
  if (token === undefined || token === "") {
    process.stderr.write("portcullis sessions: set PORTCULLIS_ADMIN_TOKEN to the admin token (admin.api.token)\n");
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(requestOf(args), {
      method: methodOf(args),
      headers: {
        authorization: `Bearer ${token}`,
        ...(args.command === "revoke" && "sub" in args.target ? { "content-type": "application/json" } : {}),
      },
      ...(args.command === "revoke" && "sub" in args.target
        ? { body: JSON.stringify({ sub: args.target.sub, ...providerOf(args.target.provider) }) }
        : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const why = error instanceof Error && error.name === "TimeoutError" ? "no answer in 10 s" : "cannot connect";
    process.stderr.write(`portcullis sessions: ${args.common.admin.origin}: ${why}\n`);
    return 1;
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    process.stderr.write(`portcullis sessions: ${res.status} from ${args.common.admin.origin}, not the admin API\n`);
    return 1;
  }
  if (!res.ok) {
    const e = body as { error?: string; error_description?: string; detail?: string };
    const detail = e.detail === undefined ? "" : ` (${e.detail})`;
    process.stderr.write(`portcullis sessions: ${res.status} ${e.error}: ${e.error_description}${detail}\n`);
    return 1;
  }
  process.stdout.write(args.common.json ? `${JSON.stringify(body, null, 2)}\n` : renderSessionsAnswer(args, body));
  return 0;
}

function requestOf(args: SessionsArgs): URL {
  const base = args.common.admin;
  if (args.command === "list") {
    const url = new URL("/admin/sessions", base);
    url.searchParams.set("sub", args.sub);
    if (args.provider !== null) url.searchParams.set("provider", args.provider);
    return url;
  }
  if ("session" in args.target) return new URL(`/admin/sessions/${encodeURIComponent(args.target.session)}`, base);
  return new URL("/admin/users/revoke", base);
}

function methodOf(args: SessionsArgs): string {
  if (args.command === "list") return "GET";
  return "session" in args.target ? "DELETE" : "POST";
}

function providerOf(provider: string | null): { provider?: string } {
  return provider === null ? {} : { provider };
}
