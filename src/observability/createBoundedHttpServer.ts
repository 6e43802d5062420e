// The node:http server of the auth, forward-auth and admin listeners, with the time a peer may
// take bounded: the headers and the whole request within 10 s (a connection that sends nothing gets
// 408 then), checked every second. node:http checks every 30 s by default, so a silent, slowloris or
// trickling peer held a connection for 30 to 40 s. Keep-alive connections idle for 5 s are closed
// by node:http's keepAliveTimeout, after the proxies in the examples let go of them (4 s). With TLS
// (the auth listener under `listen.tls`) it is node:https with the same limits.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ServerTls } from "./ServerTls.ts";

/** How long a peer may take, in milliseconds; tests pass smaller ones. */
export interface PeerTimeLimits {
  /** Until the request's headers are in. */
  readonly headersMs: number;
  /** Until the whole request (body included) is in. */
  readonly requestMs: number;
  /** How often the headers and request limits are checked. */
  readonly checkEveryMs: number;
}

export const PEER_TIME_LIMITS: PeerTimeLimits = Object.freeze({
  headersMs: 10_000,
  requestMs: 10_000,
  checkEveryMs: 1_000,
});

// node:http by getBuiltinModule, not an ESM import: importing it builds a namespace of all its
// exports, whose lazy WebSocket getter loads undici (Node's fetch, ~14 MB of RSS) into every process.
const { createServer } = process.getBuiltinModule("node:http");

/** With `tls`, an HTTPS server whose key pair may be replaced while serving (the next handshakes use it). */
export function createBoundedHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  limits: PeerTimeLimits = PEER_TIME_LIMITS,
  tls?: ServerTls,
): Server {
  const options = {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    connectionsCheckingInterval: limits.checkEveryMs,
  };
  if (tls === undefined) return createServer(options, handler);
  const server = process
    .getBuiltinModule("node:https")
    .createServer({ ...options, ...tls.serverOptions(), handshakeTimeout: limits.headersMs }, handler);
  // A failed handshake (no client certificate, a plaintext peer) ends that socket; nothing else to do.
  server.on("tlsClientError", () => undefined);
  const stop = tls.onReplace((context) => server.setSecureContext(context));
  server.once("close", stop);
  // An https.Server is an http.Server to every caller (listen, close, closeAllConnections).
  return server as unknown as Server;
}
