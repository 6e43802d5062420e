// Puts a node:http server on its port and hands back the bound port and a close that also ends open
// connections (keep-alive ones included): one definition for the admin and the auth listeners. A
// failure to bind (port in use) rejects. `reusePort` (SO_REUSEPORT) lets several worker processes
// listen on one port, each with its own socket, and the kernel spread connections among them.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenHttpServer(
  server: Server,
  port: number,
  host: string,
  options: { readonly reusePort?: boolean } = {},
): Promise<HttpListener> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort: options.reusePort === true }, () => {
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
