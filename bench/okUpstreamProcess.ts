// Child process: the upstream behind every Envoy route, a node:http server answering 200 "ok".
// Prints {"port": N} on stdout once listening on 127.0.0.1; stops on SIGTERM.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": "2" }).end("ok");
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
