// The timeouts every HTTP listener of Portcullis gives a request (auth, forward-auth, admin): a
// client gets 10 s to send its headers and body, and the sweep that enforces it runs every second.
import type { ServerOptions } from "node:http";

/**
 * How often Node looks for requests past their timeout: its default (30 s) would let a client that
 * trickles its headers hold a connection three times as long as the request timeout says.
 */
const TIMEOUT_SWEEP_MS = 1_000;

export function httpServerTimeouts(requestTimeoutMs = 10_000): ServerOptions {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_SWEEP_MS,
  };
}
