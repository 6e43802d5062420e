// Envoy with `encode_raw_headers: true` sends the request headers as header_map (raw bytes, one
// entry per header line) instead of the headers map: the Check wire codec reads that form the same
// way, so tokens, public routes, repeated headers and owned-header removal behave as they do by default.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    envoyConfig: (rendered) => {
      const setting = "include_peer_certificate: false";
      if (!rendered.includes(setting))
        throw new Error("the rendered Envoy config no longer has include_peer_certificate");
      return rendered.replace(setting, `${setting}\n                      encode_raw_headers: true`);
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const response = await stack.request(path, { headers: { "x-test-marker": marker, ...headers } });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

describe("Envoy's raw header map (encode_raw_headers)", () => {
  it("lets a valid bearer token through with identity headers and strips a forged one", async () => {
    const res = await send("/api/things", {
      authorization: `Bearer ${await stack.clientCredentialsToken()}`,
      "x-user-sub": "attacker",
    });
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBeUndefined();
    expect(res.upstream?.headers["x-client-id"]).toBeDefined();
  });

  it("refuses a request without a token with 401 and lets a public route through", async () => {
    expect((await send("/api/things")).status).toBe(401);
    const open = await send("/public/page", { "x-user-email": "forged@example.com" });
    expect(open.status).toBe(200);
    expect(open.upstream?.headers["x-user-email"]).toBeUndefined();
  });

  it("refuses a forged token with 401 invalid_token", async () => {
    const res = await send("/api/things", { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln" });
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toContain('error="invalid_token"');
  });
});
