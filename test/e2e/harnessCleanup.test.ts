// The e2e harness itself: closing a stack leaves no process or port behind, and a stack that
// fails half-way through starting stops what it had already started and says why.

import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { reservePort } from "../harness/reservePort.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True only when the port actively refuses (ECONNREFUSED): nothing listens there any more. */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`connecting to port ${port} timed out`)));
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") resolve(true);
      else reject(error);
    });
  });
}

describe("the e2e stack", () => {
  it("stops Envoy, Portcullis, the IdP and the upstream on close", async () => {
    const stack: Stack = await startStack();
    try {
      const { envoy, portcullis } = stack.pids;
      const idpPort = Number(new URL(stack.issuer).port);
      const upstreamPort = stack.upstream.port;
      expect([isRunning(envoy), isRunning(portcullis)]).toEqual([true, true]);
      expect(await refusesConnections(idpPort)).toBe(false);
      expect(await refusesConnections(upstreamPort)).toBe(false);

      await stack.close();

      expect([isRunning(envoy), isRunning(portcullis)]).toEqual([false, false]);
      expect(await refusesConnections(idpPort)).toBe(true);
      expect(await refusesConnections(upstreamPort)).toBe(true);
    } finally {
      await stack.close();
    }
  });

  it("that fails to start (Portcullis rejects its config) reports the problem and stops the IdP it started", async () => {
    const idpPort = await reservePort();
    try {
      const failure = await startStack({
        idpPort,
        routes: [{ name: "api", match: { path: "no-leading-slash" }, auth: "required" }],
      }).then(
        async (stack) => {
          await stack.close();
          return undefined;
        },
        (error: Error) => error,
      );
      expect(failure?.message).toMatch(/routes\[0\]\.match\.path/);
      expect(await refusesConnections(idpPort.port)).toBe(true);
    } finally {
      await idpPort.release();
    }
  });
});
