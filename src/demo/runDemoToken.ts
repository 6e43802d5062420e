// `portcullis demo token [--scope S]... [--client NAME] [--user NAME [--bound-to-cert]] [--port N]`:
// prints an access token from a running demo's IdP, alone on the last line of stdout. The demo is
// found through its state file: the one on HTTPS port N, else the only one running, else the one on
// 8443. Client tokens come from the client-credentials grant (demo-cli by default, or demo-batch);
// user tokens from the demo's loopback-only mint endpoint, bound to the demo machine's client
// certificate with --bound-to-cert (the IdP puts its thumbprint in cnf, as an RFC 8705 server does
// for the certificate a client authenticated with). Scopes default to api.read; each --scope
// replaces that default. Arguments are parsed by the command line (src/cli/parseDemoArgs.ts).

import { readFile } from "node:fs/promises";
import { DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID } from "./demoClients.ts";
import { DEFAULT_DEMO_PORTS } from "./demoPorts.ts";
import { demoDir, demoHttpsPort, findRunningDemos } from "./demoState.ts";
import type { DemoState } from "./demoState.ts";
import { fetchClientCredentialsToken } from "./fetchClientCredentialsToken.ts";

/** What `demo token` asks for when no --scope is given (the demo's /api/ route wants it). */
export const DEFAULT_TOKEN_SCOPES = ["api.read"] as const;

export interface DemoTokenRequest {
  /** Empty: DEFAULT_TOKEN_SCOPES. */
  readonly scopes: readonly string[];
  /** A machine client's token (default demo-cli); not with `user`. */
  readonly client?: string;
  /** A demo user's token; not with `client`. */
  readonly user?: string;
  /** The HTTPS port of the demo to ask; needed only when several demos run. */
  readonly port?: number;
  /** With `user`: bind the token to the demo machine's client certificate (cnf x5t#S256). */
  readonly boundToCertificate?: boolean;
}

export async function runDemoToken(request: DemoTokenRequest): Promise<number> {
  const found = await findDemo(demoDir(), request.port);
  if (typeof found === "string") {
    process.stderr.write(`portcullis demo token: ${found}\n`);
    return 1;
  }
  try {
    const token =
      request.user === undefined
        ? await clientToken(found, request)
        : await userToken(found, request.user, request.scopes, request.boundToCertificate === true);
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    const message =
      (error as Error).message === "fetch failed"
        ? `could not reach the demo IdP at ${found.issuer}; is the demo still running?`
        : (error as Error).message;
    process.stderr.write(`portcullis demo token: ${message}\n`);
    return 1;
  }
}

/** The running demo to ask, or why there is none to pick. */
async function findDemo(dir: string, port: number | undefined): Promise<DemoState | string> {
  const running = await findRunningDemos(dir);
  const ports = running.map(demoHttpsPort).join(", ");
  if (port !== undefined) {
    const match = running.find((state) => demoHttpsPort(state) === port);
    if (match !== undefined) return match;
    return running.length === 0
      ? `no demo is running on port ${port}. Start it first with: bin/portcullis demo --port ${port}`
      : `no demo is running on port ${port} (running: ${ports})`;
  }
  const [only, ...others] = running;
  if (only === undefined) return "the demo is not running. Start it first with: bin/portcullis demo";
  if (others.length === 0) return only;
  // The default port's demo is the one `demo token` means without --port, as `demo` does.
  const onDefault = running.find((state) => demoHttpsPort(state) === DEFAULT_DEMO_PORTS.https);
  return onDefault ?? `several demos are running (HTTPS ports ${ports}): pick one with --port N`;
}

async function clientToken(state: DemoState, request: DemoTokenRequest): Promise<string> {
  const name = request.client ?? DEMO_CLIENT_ID;
  const machines = Object.keys(state.clients).filter((id) => id !== DEMO_WEB_CLIENT_ID);
  if (name === DEMO_WEB_CLIENT_ID)
    throw new Error(
      `${name} is the demo's browser client; use --user NAME for a user's token, or --client ${machines.join("|")}`,
    );
  const client = Object.hasOwn(state.clients, name) ? state.clients[name] : undefined;
  if (client === undefined)
    throw new Error(`unknown demo client ${JSON.stringify(name)} (known: ${machines.join(", ")})`);
  return fetchClientCredentialsToken({
    tokenEndpoint: state.tokenEndpoint,
    clientId: client.id,
    clientSecret: client.secret,
    scopes: request.scopes.length > 0 ? request.scopes : [...DEFAULT_TOKEN_SCOPES],
    resource: state.resource,
  });
}

async function userToken(
  state: DemoState,
  user: string,
  scopes: readonly string[],
  boundToCertificate: boolean,
): Promise<string> {
  // The certificate, not its key: the IdP needs only what it would see in a TLS handshake.
  let certificate: string | undefined;
  if (boundToCertificate) {
    if (state.mtls === undefined) throw new Error("this demo has no mTLS entry to bind a token to");
    certificate = await readFile(state.mtls.clientCertFile, "utf8");
  }
  const response = await fetch(state.mintUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${state.mintSecret}`, "content-type": "application/json" },
    body: JSON.stringify({
      user,
      scopes: [...new Set(["openid", ...(scopes.length > 0 ? scopes : DEFAULT_TOKEN_SCOPES)])],
      ...(certificate === undefined ? {} : { certificate }),
    }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { access_token?: string; error_description?: string; error?: string };
  if (!response.ok || typeof body.access_token !== "string") {
    throw new Error(`the demo IdP refused: ${body.error_description ?? body.error ?? response.status}`);
  }
  return body.access_token;
}
