// `portcullis explain --config FILE [--token T | --cookie C] [--jwks FILE] [--json] METHOD URL
// [-H 'Name: value']...`: the decision the config makes for one request, with the Gate's trace.
// Exit codes: 0 allowed, 3 denied (or sent to log in), 1 the config or key set file is unusable,
// 2 usage. docs/explain.md documents the output and its JSON.
import { readFileSync } from "node:fs";
import { formatIssue } from "../config/ConfigIssue.ts";
import { explainRequest } from "../app/explainRequest.ts";
import { loadCheckedConfig } from "../app/loadCheckedConfig.ts";
import { explanationJson, renderExplanation } from "../app/renderExplanation.ts";
import type { CheckConfigIo } from "./checkConfig.ts";
import { parseExplainArgs } from "./parseExplainArgs.ts";

const USAGE =
  "usage: portcullis explain --config FILE [--token T | --cookie C] [--jwks FILE] [--json] METHOD URL [-H 'Name: value']...";

const HELP = `${USAGE}
Runs one request through the config's real decision pipeline and prints each step: the normalised
path, the route, the credential and its verification, token binding, requirements, the decision, the
response a client gets and the headers the upstream gets. Exit 0 allowed, 3 denied, 1 config problem.
  --token T    send Authorization: Bearer T
  --cookie C   send Cookie: C (a browser session)
  --jwks FILE  every provider's keys from this JWKS file; no IdP is called
  --json       print it as JSON (docs/explain.md)
  -H 'N: v'    another request header (repeatable)
`;

export async function runExplain(
  argv: string[],
  io: CheckConfigIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const args = parseExplainArgs(argv);
  if ("help" in args) {
    io.stdout.write(HELP);
    return 0;
  }
  if ("error" in args) {
    io.stderr.write(`error: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  const loaded = loadCheckedConfig(args.file, io.env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.stderr.write(`error: ${formatIssue(problem)}\n`);
    io.stderr.write(`${args.file}: ${loaded.problems.length} problem(s); the config is invalid\n`);
    return 1;
  }
  let jwks: string | null = null;
  if (args.jwksFile !== null) {
    try {
      jwks = readFileSync(args.jwksFile, "utf8");
    } catch {
      io.stderr.write(`error: --jwks ${args.jwksFile}: cannot be read\n`);
      return 1;
    }
  }
  const explanation = await explainRequest(
    loaded.config,
    { method: args.method, url: args.url, headers: args.headers, jwks },
    io.stderr,
  );
  io.stdout.write(args.json ? explanationJson(explanation) : renderExplanation(explanation));
  return explanation.decision.kind === "allow" ? 0 : 3;
}
