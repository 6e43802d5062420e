// A loopback OIDC issuer stub: the discovery document and the JWKS, nothing else. It runs in the
// bench process because it is only read while Portcullis starts, never under load.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface JwksServer {
  readonly issuer: string;
  /** Sets the JWKS served from now on (the keys are made after the issuer URL is known). */
  setJwks(jwks: object): void;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  let jwks: object = { keys: [] };
  let issuer = "";
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const body =
      path === "/.well-known/openid-configuration"
        ? { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ["RS256"] }
        : path === "/jwks.json"
          ? jwks
          : null;
    if (body === null) res.writeHead(404).end();
    else
      res
        .writeHead(200, { "content-type": "application/json", "cache-control": "max-age=600" })
        .end(JSON.stringify(body));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    setJwks: (next) => {
      jwks = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
