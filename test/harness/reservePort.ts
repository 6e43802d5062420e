// A loopback port held by a placeholder until the part meant to use it is about to bind, so a
// test worker running alongside cannot be given the same port in between (free-then-bind races).
// The port is drawn below the kernel's ephemeral range: between release and the real bind, an
// outgoing connection or a listen(0) anywhere on the machine (other workers, Envoy, Redis clients)
// can be handed any ephemeral port, which once made Envoy fail with "Address already in use".
// The placeholder resets every connection: to a client it looks like a service that is down.
// Ports the Fetch standard calls "bad" are never drawn: Node's fetch and Chromium refuse them, so a
// service there could never be reached by the tests (10080 once kept a replica's /readyz unread).

import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { randomInt } from "node:crypto";

export interface ReservedPort {
  readonly port: number;
  /** Frees the port for its real user; idempotent. */
  release(): Promise<void>;
}

/** The lowest port the kernel hands out by itself (Linux ip_local_port_range); 32768 when unknown. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const DRAW_LOW = 10_000;
const ATTEMPTS = 50;

/** The Fetch standard's bad ports at or above DRAW_LOW (https://fetch.spec.whatwg.org/#bad-port). */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([10080]);

/** A port to try: drawn below the ephemeral range, never one fetch or a browser refuses. */
export function drawPort(high: number, random: (low: number, high: number) => number = randomInt): number {
  for (;;) {
    const port = random(DRAW_LOW, high);
    if (!FETCH_BAD_PORTS.has(port)) return port;
  }
}

function listenOn(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(false);
      else reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve(true);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, "127.0.0.1");
  });
}

export async function reservePort(): Promise<ReservedPort> {
  const placeholder = createServer((socket) => socket.resetAndDestroy());
  const high = ephemeralLow();
  let bound = false;
  for (let attempt = 0; attempt < ATTEMPTS && !bound; attempt++) bound = await listenOn(placeholder, drawPort(high));
  // Every draw taken (a crowded machine): an ephemeral port, as before, rather than no test.
  if (!bound && !(await listenOn(placeholder, 0))) throw new Error("no loopback port could be reserved");
  let released: Promise<void> | undefined;
  return {
    port: (placeholder.address() as { port: number }).port,
    release: () => (released ??= new Promise<void>((resolve) => placeholder.close(() => resolve()))),
  };
}
