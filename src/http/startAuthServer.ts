// The auth HTTP listener that Envoy routes /oauth2/* to (with ext_authz disabled on that route).
// It hosts the login callback, sign-out and back-channel logout endpoints as they arrive; until
// then every path answers a small JSON 404.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface AuthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAuthServer(options: { host: string; port: number }): Promise<AuthServer> {
  const server = createServer((_req, res) => {
    res
      .writeHead(404, { "content-type": "application/json", "cache-control": "no-store" })
      .end(JSON.stringify({ error: "not_found", error_description: "no such endpoint" }));
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
