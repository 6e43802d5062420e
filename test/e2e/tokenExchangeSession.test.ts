// Token exchange (RFC 8693) for a browser session, through the real Envoy, Portcullis, the dev IdP
// and Chromium: after a login, the upstream of an exchange route gets a token the IdP made for its
// audience from the session's access token (same user), and neither the session cookie nor the
// session's own access token.

import { randomBytes } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EXCHANGE_CLIENT_ID } from "../../src/demo/startDevIdp.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

const SECRET = randomBytes(24).toString("base64url");

let stack: Stack;
let browser: StartedBrowser;
let running: StackWithBrowser<Stack> | undefined;

beforeAll(async () => {
  running = await startWithBrowser(() =>
    startStack({
      login: true,
      idp: { exchangeClientSecret: SECRET },
      routes: [
        {
          name: "orders",
          match: { path: "/orders" },
          auth: "required",
          exchange: {
            enabled: true,
            audience: ["demo-orders"],
            clientId: DEMO_EXCHANGE_CLIENT_ID,
            clientSecret: SECRET,
          },
        },
        { name: "default", match: { path: "/" }, auth: "required" },
      ],
    }),
  );
  ({ stack, browser } = running);
});

afterAll(async () => {
  await running?.close();
});

describe("a browser session on a route with token exchange", () => {
  it("reaches the upstream with an IdP-signed token for the route's audience and the user's sub, without the session cookie", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/orders/7", { user: "alice", secondFactor: false });
      const upstream = stack.upstream
        .requests()
        .filter((r) => r.path === "/orders/7")
        .at(-1);
      const authorization = String(upstream?.headers["authorization"]);
      expect(authorization).toMatch(/^Bearer /);
      const { kty, kid, alg, n, e } = stack.signingKey();
      const { payload } = await jwtVerify(
        authorization.slice("Bearer ".length),
        createLocalJWKSet({ keys: [{ kty, kid, alg, n, e }] }),
        { issuer: stack.issuer, audience: "demo-orders" },
      );
      expect({ sub: payload.sub, client_id: payload["client_id"] }).toEqual({
        sub: "alice",
        client_id: DEMO_EXCHANGE_CLIENT_ID,
      });
      expect(upstream?.headers["x-user-sub"]).toBe("alice");
      expect(String(upstream?.headers["cookie"] ?? "")).not.toContain("__Host-portcullis");
      expect(await stack.metric("portcullis_token_exchanges_total", { provider: "demo", result: "exchanged" })).toBe(1);
    } finally {
      await context.close();
    }
  });
});
