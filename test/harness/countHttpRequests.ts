// Counts every HTTP request that reaches a node:http server of this process, by the port it listens
// on (Node's `http.server.request.start` diagnostics channel), so a test can tell that an in-process
// IdP got no discovery or JWKS fetch at all, not only none of the calls the IdP counts itself.

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

const CHANNEL = "http.server.request.start";

export interface HttpRequestCounter {
  /** Requests received so far by the server listening on `port`. */
  count(port: number): number;
  /** Their method and path (query dropped), oldest first; for failure messages. */
  seen(port: number): readonly string[];
  close(): void;
}

export function countHttpRequests(): HttpRequestCounter {
  const byPort = new Map<number, string[]>();
  const onRequest = (message: unknown) => {
    const { request, server } = message as { request: IncomingMessage; server: Server };
    const address = server.address() as AddressInfo | null;
    if (address === null || typeof address === "string") return;
    const list = byPort.get(address.port) ?? [];
    list.push(`${request.method ?? "?"} ${(request.url ?? "").split("?")[0]}`);
    byPort.set(address.port, list);
  };
  subscribe(CHANNEL, onRequest);
  return {
    count: (port) => byPort.get(port)?.length ?? 0,
    seen: (port) => [...(byPort.get(port) ?? [])],
    close: () => void unsubscribe(CHANNEL, onRequest),
  };
}
