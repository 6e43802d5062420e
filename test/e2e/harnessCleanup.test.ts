// The e2e harness itself: closing a stack leaves no process or port behind, and a stack that
// fails half-way through starting stops what it had already started and says why.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startStack } from "../harness/startStack.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function refusesConnections(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => false,
    () => true,
  );
}

describe("the e2e stack", () => {
  it("stops Envoy, Portcullis, the IdP and the upstream on close", async () => {
    const stack = await startStack();
    const { envoy, portcullis } = stack.pids;
    const issuer = stack.issuer;
    const upstream = `http://127.0.0.1:${stack.upstream.port}/`;
    expect([isRunning(envoy), isRunning(portcullis)]).toEqual([true, true]);

    await stack.close();

    expect([isRunning(envoy), isRunning(portcullis)]).toEqual([false, false]);
    expect(await refusesConnections(`${issuer}/.well-known/openid-configuration`)).toBe(true);
    expect(await refusesConnections(upstream)).toBe(true);
  });

  it("that fails to start (Portcullis rejects its config) reports the problem and stops the IdP it started", async () => {
    const idpPort = await freePort();
    const failure = await startStack({
      idpPort,
      routes: [{ name: "api", match: { path: "no-leading-slash" }, auth: "required" }],
    }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(/routes\[0\]\.match\.path/);
    expect(await refusesConnections(`http://127.0.0.1:${idpPort}/.well-known/openid-configuration`)).toBe(true);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
