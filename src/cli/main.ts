// The `portcullis` command: dispatches to serve, check-config, explain, sessions, apikey and demo. Exit
// codes: 0 success, 1 failure (bad config included), 2 usage error; explain answers 3 for a denial.

const USAGE = `Portcullis — identity-aware access proxy (Envoy ext_authz)

Usage:
  portcullis serve --config FILE         run the ext_authz server (gRPC :9191, auth :8181, admin 127.0.0.1:9464)
      [--watch] [--workers N|auto]       reload on file change; N processes sharing the ports (auto: one per CPU)
  portcullis check-config --config FILE  validate a config file; lists every problem with its key path
      [--strict] [--format text|json]    warnings fail too; one JSON report on stdout
      [--envoy]                          print Envoy's ext_authz filter for it (allowed_headers included)
      [--explain-routes [--json]]        print the ordered rule table with requirements and overlaps (docs/explain.md)
  portcullis explain --config FILE [--token T | --cookie C] [--jwks FILE] [--json] METHOD URL [-H 'N: v']...
                                         the decision for one request and each step that led to it (docs/explain.md)
  portcullis sessions list --sub SUB [--provider P] [--admin URL] [--json]
  portcullis sessions revoke (--session HANDLE | --sub SUB [--provider P]) [--admin URL] [--json]
                                         list or end a user's sessions through the admin API (token from
                                         PORTCULLIS_ADMIN_TOKEN; docs/sessions-admin.md)
  portcullis apikey new --client ID [--scope S]... [--role R]...
                                         print a new API key once and its entry for apiKeys.file (docs/security.md)
  portcullis demo [--port N] ...         run Envoy + Portcullis + a dev IdP + a sample upstream on https://localhost:8443
                                         (every port can be changed: portcullis demo --help)
  portcullis demo token [--scope S]... [--client NAME] [--user NAME] [--port N]
                                         print an access token from the running demo's IdP
  portcullis --version                   print the version, its commit and the Node running it
  portcullis --help                      print this help
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return (await import("./runServe.ts")).runServe(rest);
    case "check-config":
      return (await import("./checkConfig.ts")).runCheckConfig(rest);
    case "explain":
      return (await import("./runExplain.ts")).runExplain(rest);
    case "sessions":
      return (await import("./runSessions.ts")).runSessions(rest);
    case "apikey":
      return (await import("../app/runApiKeyCommand.ts")).runApiKeyCommand(rest);
    case "demo":
      return (await import("./runDemoCommand.ts")).runDemoCommand(rest);
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`${(await import("../app/versionLine.ts")).versionLine()}\n`);
      return 0;
    case "--help":
    case "-h":
    case "help":
    case undefined:
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Every command closes what it opened; should a stray handle keep the loop alive, the process
    // still ends with its exit code instead of hanging (an unref'd timer never delays a clean exit).
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
