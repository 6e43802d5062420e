// How long a peer may hold a connection to the auth, forward-auth and admin listeners
// (createBoundedHttpServer): one that never sends a byte, one that sends its headers a line at a
// time (slowloris) and one that trickles a body are each cut off near their limit, not at
// node:http's next check (every 30 s by default). Small limits keep the test short.
import { connect, type Socket } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { PeerTimeLimits } from "../../src/observability/createBoundedHttpServer.ts";
import { startAuthServer } from "../../src/http/startAuthServer.ts";
import { startForwardAuthServer } from "../../src/http/startForwardAuthServer.ts";
import { startAdminServer } from "../../src/observability/startAdminServer.ts";

const LIMITS: PeerTimeLimits = { headersMs: 400, requestMs: 400, checkEveryMs: 50 };
/** Well under node:http's default check interval (30 s), well over LIMITS on a loaded machine. */
const CUT_OFF_WITHIN_MS = 5_000;

const closers: Array<() => Promise<void>> = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const close of closers.splice(0)) await close();
});

const LISTENERS = {
  "the forward-auth listener": () =>
    startForwardAuthServer({ host: "127.0.0.1", port: 0, route: () => null, peerTimeLimits: LIMITS }),
  "the auth listener": () => startAuthServer({ host: "127.0.0.1", port: 0, peerTimeLimits: LIMITS }),
  "the admin listener": () =>
    startAdminServer({
      host: "127.0.0.1",
      port: 0,
      registry: new Registry(),
      notReadyReason: () => null,
      peerTimeLimits: LIMITS,
    }),
};

/** Connects, runs `talk` every 100 ms while open; resolves with what was read and when it closed. */
function holdOpen(port: number, first: string, talk: string) {
  const started = Date.now();
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  socket.on("error", () => {});
  let read = "";
  socket.on("data", (chunk: Buffer) => (read += chunk.toString("latin1")));
  socket.on("connect", () => {
    if (first !== "") socket.write(first);
  });
  const timer = setInterval(() => {
    if (talk !== "" && socket.writable) socket.write(talk);
  }, 100);
  return new Promise<{ read: string; afterMs: number }>((resolve) =>
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ read, afterMs: Date.now() - started });
    }),
  );
}

describe.each(Object.entries(LISTENERS))("%s", (_name, start) => {
  it("answers 408 to a connection that never sends a byte, and closes it", async () => {
    const listener = await start();
    closers.push(() => listener.close());
    const { read, afterMs } = await holdOpen(listener.port, "", "");
    expect(read).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(LIMITS.headersMs - 50);
    expect(afterMs).toBeLessThan(CUT_OFF_WITHIN_MS);
  });

  it("answers 408 to headers sent a line at a time, and closes", async () => {
    const listener = await start();
    closers.push(() => listener.close());
    const { read, afterMs } = await holdOpen(listener.port, "GET /oauth2/auth HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n");
    expect(read).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeLessThan(CUT_OFF_WITHIN_MS);
  });

  it("closes a connection whose body trickles in past the request limit", async () => {
    const listener = await start();
    closers.push(() => listener.close());
    const head = "POST /oauth2/backchannel_logout HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    const { afterMs } = await holdOpen(listener.port, head, "a");
    expect(afterMs).toBeLessThan(CUT_OFF_WITHIN_MS);
  });
});
