// `portcullis sessions list|revoke`: the session admin API from the command line (docs/sessions-admin.md).
// Exit 0 done, 1 the API refused or could not be reached (why on stderr), 2 a usage error.
import { callSessionsAdmin } from "../app/callSessionsAdmin.ts";
import { renderSessionsAnswer } from "../app/renderSessionsAnswer.ts";
import { parseSessionsArgs } from "./parseSessionsArgs.ts";

const USAGE = `Usage (the admin token, admin.api.token, is read from PORTCULLIS_ADMIN_TOKEN):
  portcullis sessions list --sub SUB [--provider P] [--admin URL] [--json]     a user's sessions (Redis store)
  portcullis sessions revoke --session HANDLE [--admin URL] [--json]           end one session (HANDLE from list)
  portcullis sessions revoke --sub SUB [--provider P] [--admin URL] [--json]   end all of the user's sessions
  --admin URL: the admin listener (default http://127.0.0.1:9464)
`;

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
  const answer = await callSessionsAdmin(args.admin, token, args.request);
  if (!answer.ok) {
    process.stderr.write(`portcullis sessions: ${answer.message}\n`);
    return 1;
  }
  const out = args.json ? `${JSON.stringify(answer.body, null, 2)}\n` : renderSessionsAnswer(args.request, answer.body);
  process.stdout.write(out);
  return 0;
}
