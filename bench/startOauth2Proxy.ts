// oauth2-proxy as an ext_authz HTTP peer: OIDC provider on the bench issuer (endpoints given, no
// discovery), bearer JWTs accepted (--skip-jwt-bearer-tokens, audience = client id), a static 200
// upstream, so Envoy's check request (path_prefix /oauth2/auth + the request path) is answered 200
// with X-Auth-Request-User/-Email for a valid token and 403 without one. Waits for /ping.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { waitForHttp200 } from "./fetchText.ts";

export interface RunningOauth2Proxy {
  readonly pid: number | undefined;
  readonly port: number;
}

/** A free loopback port (oauth2-proxy cannot report the port it bound to :0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startOauth2Proxy(
  group: ChildProcessGroup,
  bin: string,
  issuer: string,
  audience: string,
): Promise<RunningOauth2Proxy> {
  const port = await freePort();
  const child = group.spawn(
    "oauth2-proxy",
    bin,
    [
      `--http-address=127.0.0.1:${port}`,
      "--provider=oidc",
      `--oidc-issuer-url=${issuer}`,
      "--skip-oidc-discovery",
      `--login-url=${issuer}/authorize`,
      `--redeem-url=${issuer}/token`,
      `--oidc-jwks-url=${issuer}/jwks.json`,
      `--client-id=${audience}`,
      "--client-secret=bench",
      `--cookie-secret=${randomBytes(16).toString("hex")}`,
      "--cookie-secure=false",
      `--redirect-url=http://127.0.0.1:${port}/oauth2/callback`,
      "--email-domain=*",
      "--skip-jwt-bearer-tokens",
      "--bearer-token-login-fallback=false",
      "--upstream=static://200",
      "--set-xauthrequest",
      "--request-logging=false",
      "--auth-logging=false",
    ],
    { role: "server" },
  );
  try {
    await waitForHttp200(`http://127.0.0.1:${port}/ping`, 20_000);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${child.tail()}`);
  }
  return { pid: child.process.pid, port };
}
