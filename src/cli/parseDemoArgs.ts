// The arguments of `portcullis demo` and `portcullis demo token`. Every listener of the demo has a
// port flag (--port for Envoy's HTTPS entry, --mtls-port, --idp-port, --upstream-port, --grpc-port,
// --auth-port, --admin-port), as `--flag N` or `--flag=N`; a bad value or an unknown flag is an error (exit 2).

import type { DemoPorts } from "../demo/startDemo.ts";
import type { DemoTokenRequest } from "../demo/runDemoToken.ts";

/** Each port flag and the listener it sets. */
const PORT_FLAGS: Readonly<Record<string, keyof DemoPorts>> = {
  "--port": "https",
  "--mtls-port": "mtls",
  "--idp-port": "idp",
  "--upstream-port": "upstream",
  "--grpc-port": "grpc",
  "--auth-port": "auth",
  "--admin-port": "admin",
};

export const DEMO_USAGE = `Usage: portcullis demo [--port N] [--mtls-port N] [--idp-port N] [--upstream-port N]
                      [--grpc-port N] [--auth-port N] [--admin-port N]
  Runs Envoy + Portcullis + a dev IdP + a sample upstream in the foreground (Ctrl-C stops it).

  --port N           Envoy's HTTPS entry, https://localhost:N (default 8443)
  --mtls-port N      Envoy's mTLS entry: a client certificate from the demo's CA (default 8444)
  --idp-port N       the dev IdP, issuer http://127.0.0.1:N (default 9400)
  --upstream-port N  the echo upstream (default 9480)
  --grpc-port N      Portcullis ext_authz gRPC (default 9191)
  --auth-port N      Portcullis auth endpoints /oauth2/* (default 8181)
  --admin-port N     Portcullis admin: /metrics, /healthz, /readyz (default 9464)

  The defaults hold on --port 8443. On any other --port, the listeners not given a port take
  free ones the system picks, so a second demo runs beside the first: portcullis demo --port 9443.
  Logs and state go to .cache/demo/<HTTPS port>/ (or $PORTCULLIS_DEMO_DIR/<HTTPS port>/).

Usage: portcullis demo token [--scope S]... [--client NAME] [--user NAME [--bound-to-cert]] [--port N]
  Prints an access token from the running demo's IdP. --port N picks the demo on HTTPS port N;
  without it, the only demo running, or the one on 8443 when several run. --bound-to-cert binds
  the user's token to the demo machine's client certificate (cnf x5t#S256, RFC 8705): it is then
  accepted only on the mTLS entry, with that certificate.
`;

export const DEMO_TOKEN_USAGE =
  "Usage: portcullis demo token [--scope S]... [--client NAME] [--user NAME [--bound-to-cert]] [--port N]";

/** A `demo token` flag that takes no value. */
const BOUND_TO_CERT = "--bound-to-cert";

export type DemoArgs =
  | { readonly command: "run"; readonly ports: Partial<DemoPorts> }
  | { readonly command: "token"; readonly request: DemoTokenRequest }
  | { readonly command: "help" }
  | { readonly command: "error"; readonly error: string; readonly usage: string };

/** `argv` is what follows `demo`: `token ...` for the token command, else the demo's own flags. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { command: "help" };
  if (argv[0] === "token") {
    const request = parseTokenArgs(argv.slice(1));
    return typeof request === "string"
      ? { command: "error", error: `portcullis demo token: ${request}`, usage: DEMO_TOKEN_USAGE }
      : { command: "token", request };
  }
  const ports = parsePortFlags(argv);
  return typeof ports === "string"
    ? { command: "error", error: `portcullis demo: ${ports}`, usage: "Try: portcullis demo --help" }
    : { command: "run", ports };
}

function parsePortFlags(argv: readonly string[]): Partial<DemoPorts> | string {
  const ports: Partial<Record<keyof DemoPorts, number>> = {};
  const given = new Map<number, string>();
  for (const { name, value } of flags(argv)) {
    const listener = Object.hasOwn(PORT_FLAGS, name) ? PORT_FLAGS[name] : undefined;
    if (listener === undefined) return `unexpected argument ${JSON.stringify(name)}`;
    if (ports[listener] !== undefined) return `${name} is given twice`;
    const port = parsePort(name, value);
    if (typeof port === "string") return port;
    const other = given.get(port);
    if (other !== undefined) return `${name}: ${port} is already given to ${other}`;
    given.set(port, name);
    ports[listener] = port;
  }
  return ports;
}

function parseTokenArgs(argv: readonly string[]): DemoTokenRequest | string {
  const scopes: string[] = [];
  let client: string | undefined;
  let user: string | undefined;
  let port: number | undefined;
  const boundToCertificate = argv.includes(BOUND_TO_CERT);
  for (const { name, value } of flags(argv.filter((arg) => arg !== BOUND_TO_CERT))) {
    if (name === BOUND_TO_CERT) return `${BOUND_TO_CERT} takes no value`;
    if (name !== "--scope" && name !== "--client" && name !== "--user" && name !== "--port")
      return `unknown argument ${JSON.stringify(name)}`;
    if (value === undefined || value === "") return `${name} needs a value`;
    if (name === "--scope") scopes.push(...value.split(" ").filter(Boolean));
    else if (name === "--client") client = value;
    else if (name === "--user") user = value;
    else {
      const parsed = parsePort(name, value);
      if (typeof parsed === "string") return parsed;
      port = parsed;
    }
  }
  if (client !== undefined && user !== undefined)
    return "--client and --user cannot be combined (user tokens are the browser client's)";
  if (boundToCertificate && user === undefined)
    return `${BOUND_TO_CERT} binds a user's token: give --user NAME (e.g. --user alice ${BOUND_TO_CERT})`;
  return {
    scopes,
    ...(client === undefined ? {} : { client }),
    ...(user === undefined ? {} : { user }),
    ...(port === undefined ? {} : { port }),
    ...(boundToCertificate ? { boundToCertificate } : {}),
  };
}

/** `--name value` and `--name=value` pairs, in order; a value is undefined when the argv ran out. */
function flags(argv: readonly string[]): { name: string; value: string | undefined }[] {
  const out: { name: string; value: string | undefined }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq !== -1) out.push({ name: arg.slice(0, eq), value: arg.slice(eq + 1) });
    else out.push({ name: arg, value: argv[++i] });
  }
  return out;
}

function parsePort(name: string, value: string | undefined): number | string {
  if (value === undefined) return `${name} needs a port number`;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  return port >= 1 && port <= 65_535 ? port : `${name}: must be 1-65535 (got ${JSON.stringify(value)})`;
}
