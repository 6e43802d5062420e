// API keys for legacy clients through the real Envoy: a configured key in `x-api-key` or in
// `?api_key=` admits its client (the upstream sees x-client-id, never the key, the parameter removed
// and the others kept); an unknown key gets 401 api_key_invalid; a key without the route's scope gets
// 403. Portcullis's log never holds a key.

import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

const REPORTS_KEY = `rk_${randomUUID()}`;
const OTHER_KEY = `ok_${randomUUID()}`;
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: [
      {
        name: "reports",
        match: { host: "localhost", path: "/reports" },
        auth: "required",
        apiKeys: true,
        require: { scopes: ["reports:read"] },
      },
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
    ],
    config: {
      apiKeys: {
        enabled: true,
        header: "x-api-key",
        queryParameter: "api_key",
        keys: [
          { clientId: "reports-cron", sha256: sha256(REPORTS_KEY), scopes: ["reports:read"] },
          { clientId: "other-batch", sha256: sha256(OTHER_KEY), scopes: ["other:read"] },
        ],
      },
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { ...headers, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, body: res.body, upstream };
}

describe("API keys through Envoy", () => {
  it("admits a key in the header: the upstream sees the client id and not the key", async () => {
    const sent = await send("/reports/q1", { "x-api-key": REPORTS_KEY });
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["x-client-id"]).toBe("reports-cron");
    expect(sent.upstream?.headers["x-api-key"]).toBeUndefined();
  });

  it("admits a key in the query parameter, which the upstream does not see, the others kept", async () => {
    const sent = await send(`/reports/q1?year=2026&api_key=${REPORTS_KEY}`);
    expect(sent.status).toBe(200);
    const upstreamUrl = new URL(sent.upstream?.path ?? "/", "http://upstream");
    expect([...upstreamUrl.searchParams]).toEqual([["year", "2026"]]);
    expect(sent.upstream?.headers["x-client-id"]).toBe("reports-cron");
  });

  it("refuses an unknown key with 401 api_key_invalid before the upstream", async () => {
    const sent = await send("/reports/q1", { "x-api-key": `rk_${randomUUID()}` });
    expect(sent).toMatchObject({ status: 401, upstream: undefined });
    expect(sent.body).toContain("api_key_invalid");
  });

  it("refuses a key lacking the route's scope with 403", async () => {
    const sent = await send("/reports/q1", { "x-api-key": OTHER_KEY });
    expect(sent).toMatchObject({ status: 403, upstream: undefined });
  });

  it("is not read on a route that does not opt in", async () => {
    const sent = await send("/api/x", { "x-api-key": REPORTS_KEY });
    expect(sent.status).toBe(401);
  });

  it("leaves no key in Portcullis's log", async () => {
    const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(REPORTS_KEY);
    expect(log).not.toContain(OTHER_KEY);
  });
});
