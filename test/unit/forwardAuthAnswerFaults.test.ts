// The forward-auth answer on the wire: a claim's non-ASCII text goes as its UTF-8 bytes (node:http
// refuses a string beyond Latin-1, and the refusal escaped as an unhandled rejection that ends the
// process), a client's own Cookie as the bytes it came as, and an answer that cannot be written is
// replaced by the 503 internal_error denial, never left half-written or unanswered. That fault is
// injected with a gate answering an unwritable header, which the real gate never makes.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BlockList } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { createForwardAuthHandler } from "../../src/transport/createForwardAuthHandler.ts";
import { readForwardAuthRequest } from "../../src/transport/readForwardAuthRequest.ts";
import { toForwardAuthResponse } from "../../src/transport/toForwardAuthResponse.ts";
import { ask, started } from "./forwardAuthServer.ts";

const forwarded = {
  "x-original-method": "GET",
  "x-original-uri": "/api/items",
  "x-forwarded-host": "app.example.com",
  "x-forwarded-proto": "https",
};

describe("identity values beyond Latin-1 through forward-auth", () => {
  it("reach the proxy as their UTF-8 bytes, as Envoy sends them, and the endpoint keeps answering", async () => {
    const { server, token } = await started();
    const email = "用户@例子.广告";
    const res = await ask(server, { ...forwarded, authorization: `Bearer ${await token({ email })}` });
    expect(res.status).toBe(200);
    // node:http hands a received header value over one char per byte.
    expect(Buffer.from(String(res.headers["x-user-email"]), "latin1").toString("utf8")).toBe(email);
    expect((await ask(server, { ...forwarded, "x-original-uri": "/public" })).status).toBe(200);
  });

  it("go as UTF-8 within Latin-1 too, so José and Josè stay two names to a UTF-8 upstream", async () => {
    const { server, token } = await started();
    const res = await ask(server, {
      ...forwarded,
      authorization: `Bearer ${await token({ email: "josé@example.com" })}`,
    });
    expect(Buffer.from(String(res.headers["x-user-email"]), "latin1").toString("hex")).toBe(
      Buffer.from("josé@example.com", "utf8").toString("hex"),
    );
  });

  it("a client's own Cookie goes back as the bytes it came as", async () => {
    const { server, token } = await started();
    const cookie = Buffer.from("theme=café", "utf8").toString("latin1");
    const res = await ask(server, { ...forwarded, cookie, authorization: `Bearer ${await token()}` });
    expect(res.headers["cookie"]).toBe(cookie);
  });
});

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** The handler over a gate that decides `decision`, on a loopback server; what the observer saw. */
async function serveDeciding(decision: Decision) {
  const observed: Array<{ decision: Decision; fault: unknown }> = [];
  const trustedProxies = new BlockList();
  trustedProxies.addSubnet("127.0.0.0", 8, "ipv4");
  const names = {
    method: "x-original-method",
    uri: "x-original-uri",
    host: "x-forwarded-host",
    proto: "x-forwarded-proto",
  };
  const handle = createForwardAuthHandler(
    { decide: (_request: AccessRequest) => Promise.resolve(decision) },
    { checked: (_request, seen, _seconds, fault) => void observed.push({ decision: seen, fault }) },
    () => ({
      trustedProxies,
      read: (req) => readForwardAuthRequest(req.rawHeaders, names),
      answer: (d) => toForwardAuthResponse(d, null),
    }),
  );
  const server = createServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, observed };
}

describe("an answer that cannot be written", () => {
  it("is the 503 internal_error denial, never the allow, and the fault is observed", async () => {
    const { port, observed } = await serveDeciding({
      kind: "allow",
      route: "api",
      reason: "authenticated",
      setHeaders: [["x-user-sub", "alice\r\nx-user-roles: admin"]],
      removeHeaders: [],
    });
    const res = await fetch(`http://127.0.0.1:${port}/oauth2/auth`, {
      headers: forwarded,
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-user-sub")).toBeNull();
    expect(await res.json()).toMatchObject({ error: "internal_error" });
    expect(observed).toHaveLength(1);
    expect(observed[0]?.decision).toMatchObject({ kind: "deny", code: "internal_error" });
    expect(observed[0]?.fault).toBeInstanceOf(Error);
  });
});
