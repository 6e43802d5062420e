// Routes that read the token from elsewhere than Authorization, through the real Envoy: a token in
// `?access_token=` (as a WebSocket upgrade or a legacy client sends it) reaches the upstream without
// the parameter, the other parameters intact; a token in a named header or a cookie passes and the
// upstream sees neither. Portcullis's log never holds the token.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({
    routes: [
      {
        name: "ws",
        match: { host: "localhost", path: "/ws" },
        auth: "required",
        tokenSource: { query: "access_token" },
      },
      {
        name: "legacy",
        match: { host: "localhost", path: "/legacy" },
        auth: "required",
        tokenSource: { header: "x-api-token" },
      },
      {
        name: "cookie",
        match: { host: "localhost", path: "/cookie" },
        auth: "required",
        tokenSource: { cookie: "api_token" },
      },
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
    ],
  });
  token = await stack.idp().mintUserToken("alice");
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { ...headers, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, upstream };
}

describe("a token in a query parameter", () => {
  it("reaches the upstream without the parameter, the other parameters kept", async () => {
    const sent = await send(`/ws/chat?room=42&access_token=${token}&lang=en`);
    expect(sent.status).toBe(200);
    // Envoy rebuilds the query string without the parameter (its parameters in sorted order).
    const upstreamUrl = new URL(sent.upstream?.path ?? "/", "http://upstream");
    expect(upstreamUrl.pathname).toBe("/ws/chat");
    expect([...upstreamUrl.searchParams].sort()).toEqual([
      ["lang", "en"],
      ["room", "42"],
    ]);
    expect(sent.upstream?.headers["x-user-sub"]).toBe("alice");
  });

  it("is refused with 401 when it is not valid, and the request never reaches the upstream", async () => {
    const sent = await send("/ws/chat?access_token=not-a-token");
    expect(sent).toMatchObject({ status: 401, upstream: undefined });
  });

  it("is refused when sent twice", async () => {
    const sent = await send(`/ws/chat?access_token=${token}&access_token=${token}`);
    expect(sent).toMatchObject({ status: 401, upstream: undefined });
  });

  it("is not read on a route without a query source, where Authorization is still required", async () => {
    const sent = await send(`/api/x?access_token=${token}`);
    expect(sent.status).toBe(401);
  });
});

describe("a token in a named header or a cookie", () => {
  it("passes from the named header, which the upstream does not see", async () => {
    const sent = await send("/legacy/orders", { "x-api-token": token });
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["x-api-token"]).toBeUndefined();
    expect(sent.upstream?.headers["x-user-sub"]).toBe("alice");
  });

  it("passes from the cookie, which the upstream does not see while the other cookies reach it", async () => {
    const sent = await send("/cookie/orders", { cookie: `theme=dark; api_token=${token}` });
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["cookie"]).toBe("theme=dark");
  });

  it("is not read from Authorization on a cookie-source route", async () => {
    const sent = await send("/cookie/orders", { authorization: `Bearer ${token}` });
    expect(sent.status).toBe(401);
  });
});

describe("the token is never logged", () => {
  it("appears nowhere in Portcullis's log after the requests above", async () => {
    const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split(".")[2]);
  });

  it("appears nowhere in Envoy's access log either (the shipped format logs the path without its query)", async () => {
    const log = await readFile(join(stack.dir, "envoy.log"), "utf8");
    expect(log).toContain('"path":"/ws/chat"');
    expect(log).not.toContain(token.split(".")[2]);
  });
});
