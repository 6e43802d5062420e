// The admin listener cuts a client that trickles its request (slowloris) once the request timeout
// has passed, not at Node's 30-second sweep: a half-sent request holds a connection no longer than
// the timeout says (plus a one-second sweep).
import { connect } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startAdminServer, type AdminServer } from "../../src/observability/startAdminServer.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let server: AdminServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe("the admin listener", () => {
  it("answers 408 and closes a connection whose headers never end, soon after the request timeout", async () => {
    server = await startAdminServer({
      host: "127.0.0.1",
      port: 0,
      registry: new Registry(),
      notReadyReason: () => null,
      requestTimeoutMs: 500,
    });
    const socket = connect(server.port, "127.0.0.1");
    let answer = "";
    let closed = false;
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
    socket.on("close", () => (closed = true));
    socket.write("POST /admin/users/revoke HTTP/1.1\r\nhost: admin\r\n");
    // One more header line now and then, never the blank line that ends them.
    const trickle = setInterval(() => socket.writable && socket.write("x-slow: 1\r\n"), 100);
    try {
      expect(await waitUntil(async () => closed, 4_000)).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
  });
});
