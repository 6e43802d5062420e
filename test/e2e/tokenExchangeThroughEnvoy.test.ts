// Token exchange (RFC 8693) through the real Envoy with the dev IdP's token exchange grant: the
// upstream gets a token the IdP signed for the route's audience, with the caller's sub, in place of
// the caller's token (or in a header of the route's choosing); identical concurrent requests cost
// the IdP one exchange; an audience the IdP refuses is 403 and an IdP that is down is 503, never
// an allow without the exchanged token.

import { randomBytes, randomUUID } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EXCHANGE_CLIENT_ID } from "../../src/demo/startDevIdp.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const SECRET = randomBytes(24).toString("base64url");
const exchange = (audience: string, more: Record<string, unknown> = {}) => ({
  enabled: true,
  audience: [audience],
  clientId: DEMO_EXCHANGE_CLIENT_ID,
  clientSecret: SECRET,
  timeoutMs: 3000,
  ...more,
});

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    idp: { exchangeClientSecret: SECRET },
    routes: [
      { name: "orders", match: { path: "/orders" }, auth: "required", exchange: exchange("demo-orders") },
      {
        name: "reports",
        match: { path: "/reports" },
        auth: "required",
        exchange: exchange("demo-orders", { header: "x-orders-token", scheme: null }),
      },
      { name: "payroll", match: { path: "/payroll" }, auth: "required", exchange: exchange("demo-payroll") },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

/** Verifies a token against the dev IdP's current public key, as a downstream service would. */
async function verifiedClaims(token: string) {
  const { kty, kid, alg, n, e } = stack.signingKey();
  const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [{ kty, kid, alg, n, e }] }), {
    issuer: stack.issuer,
    audience: "demo-orders",
  });
  return payload;
}

const exchangesAtIdp = () => stack.idp().counts.tokenByGrant[EXCHANGE_GRANT] ?? 0;

describe("a route with token exchange at the dev IdP", () => {
  it("sends the upstream an IdP-signed token for the route's audience with the caller's sub, never the caller's token", async () => {
    const caller = await stack.idp().mintUserToken("alice");
    const res = await send("/orders/7", caller);
    expect(res.status).toBe(200);
    const authorization = String(res.upstream?.headers["authorization"]);
    expect(authorization).toMatch(/^Bearer /);
    const claims = await verifiedClaims(authorization.slice("Bearer ".length));
    expect({ aud: claims.aud, sub: claims.sub, client_id: claims["client_id"] }).toEqual({
      aud: "demo-orders",
      sub: "alice",
      client_id: DEMO_EXCHANGE_CLIENT_ID,
    });
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(JSON.stringify(res.upstream?.headers)).not.toContain(caller);
  });

  it("puts the bare token in the route's own header and removes the caller's Authorization", async () => {
    const caller = await stack.idp().mintUserToken("bob");
    const res = await send("/reports/q1", caller);
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["authorization"]).toBeUndefined();
    expect((await verifiedClaims(String(res.upstream?.headers["x-orders-token"]))).sub).toBe("bob");
  });

  it("asks the IdP once for identical concurrent requests, and answers the next ones from the cache", async () => {
    const caller = await stack.idp().mintUserToken("alice");
    const before = exchangesAtIdp();
    const hits = await stack.metric("portcullis_token_exchanges_total", { provider: "demo", result: "cache_hit" });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => send(`/orders/${i}`, caller)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(new Set(answers.map((a) => a.upstream?.headers["authorization"])).size).toBe(1);
    await send("/orders/again", caller);
    expect(exchangesAtIdp()).toBe(before + 1);
    expect(await stack.metric("portcullis_token_exchanges_total", { provider: "demo", result: "cache_hit" })).toBe(
      hits + 1,
    );
  });

  it("fails closed with 403 token_exchange_refused for an audience the IdP will not exchange for", async () => {
    const res = await send("/payroll/march", await stack.idp().mintUserToken("alice"));
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 403,
      error: "token_exchange_refused",
      reached: false,
    });
  });

  it("fails closed with 503 token_exchange_unavailable while the IdP is down", async () => {
    const caller = await stack.idp().mintUserToken("bob");
    await stack.idp().close();
    const res = await send("/orders/7", caller);
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 503,
      error: "token_exchange_unavailable",
      reached: false,
    });
  });
});
