// The sample upstream for the demo and e2e tests: answers every request with JSON of what it
// received (method, path, headers), so that anyone can see which identity headers arrived.
// Keeps the last requests in memory (bounded) so tests can assert what did or did not get through.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer, listenServer } from "./listenServer.ts";

export interface EchoedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface EchoUpstream {
  readonly port: number;
  /** Requests received, oldest first (the last 200). */
  requests(): readonly EchoedRequest[];
  close(): Promise<void>;
}

const KEPT_REQUESTS = 200;

export async function startEchoUpstream(options: { port?: number } = {}): Promise<EchoUpstream> {
  const seen: EchoedRequest[] = [];
  const server = createServer((req, res) => {
    const echoed: EchoedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers };
    seen.push(echoed);
    if (seen.length > KEPT_REQUESTS) seen.shift();
    // Drain the body without keeping it: the echo is about headers, and bodies can be large.
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(echoed, null, 2) + "\n");
    });
  });
  await listenServer(server, options.port ?? 0);
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => [...seen],
    close: () => closeServer(server),
  };
}
