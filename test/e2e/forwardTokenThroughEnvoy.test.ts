// routes[].forwardToken through the real Envoy, Portcullis, the dev IdP and Chromium: after a login,
// the upstream of /calendar gets the session's access token as Authorization: Bearer (IdP-signed, the
// user's sub) in place of whatever Authorization the page sent, /profile's upstream gets the ID token
// in x-id-token, other routes get no token; once the session is refreshed the new access token is
// what goes upstream.
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_WEB_CLIENT_ID } from "../../src/demo/startDevIdp.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";
import { waitUntil } from "../harness/waitUntil.ts";

// Short tokens so the session is refreshed within the test (never earlier than half the lifetime).
const ACCESS_TOKEN_TTL_SECONDS = 20;

let stack: Stack;
let browser: StartedBrowser;
let running: StackWithBrowser<Stack> | undefined;

beforeAll(async () => {
  running = await startWithBrowser(() =>
    startStack({
      login: true,
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS },
      session: { refreshWindowSeconds: 10 },
      routes: [
        { name: "calendar", match: { path: "/calendar" }, auth: "required", forwardToken: { enabled: true } },
        {
          name: "profile",
          match: { path: "/profile" },
          auth: "required",
          forwardToken: { enabled: true, token: "id", header: "x-id-token" },
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

const keys = () => {
  const { kty, kid, alg, n, e } = stack.signingKey();
  return createLocalJWKSet({ keys: [{ kty, kid, alg, n, e }] });
};

describe("a browser session on routes that forward its token", () => {
  it("passes the access token, the ID token and no token as each route says, never the page's own Authorization, and the refreshed token after a refresh", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/calendar/1", { user: "alice", secondFactor: false });
      const upstreamOf = (path: string) =>
        stack.upstream
          .requests()
          .filter((r) => r.path === path)
          .at(-1)?.headers;
      const first = String(upstreamOf("/calendar/1")?.["authorization"]);
      expect(first).toMatch(/^Bearer /);
      const { payload } = await jwtVerify(first.slice("Bearer ".length), keys(), { issuer: stack.issuer });
      expect(payload.sub).toBe("alice");
      expect(String(upstreamOf("/calendar/1")?.["cookie"] ?? "")).not.toContain("__Host-portcullis");

      // The page's own Authorization (not a bearer token) is replaced, never passed on.
      const fetchFrom = (path: string, headers: Record<string, string> = {}) =>
        page.evaluate(
          async ([p, h]) => {
            const res = await fetch(p, { headers: { accept: "application/json", ...h } });
            return { status: res.status, headers: ((await res.json()) as { headers: Record<string, string> }).headers };
          },
          [path, headers] as const,
        );
      const replaced = await fetchFrom("/calendar/2", { authorization: "Basic bWFsbG9yeTpzZWNyZXQ=" });
      expect(replaced.status).toBe(200);
      expect(replaced.headers["authorization"]).toBe(first);

      const profile = await fetchFrom("/profile/me");
      expect(profile.headers["authorization"]).toBeUndefined();
      const idToken = await jwtVerify(String(profile.headers["x-id-token"]), keys(), {
        issuer: stack.issuer,
        audience: DEMO_WEB_CLIENT_ID,
      });
      expect(idToken.payload.sub).toBe("alice");
      expect((await fetchFrom("/other")).headers["authorization"]).toBeUndefined();

      // Once the session is refreshed (past half the token's life), the new access token goes upstream.
      let latest = first;
      const refreshed = await waitUntil(
        async () => {
          latest = String((await fetchFrom("/calendar/poll")).headers["authorization"]);
          return latest !== first;
        },
        ACCESS_TOKEN_TTL_SECONDS * 1000 * 2,
        500,
      );
      expect(refreshed).toBe(true);
      const renewed = await jwtVerify(latest.slice("Bearer ".length), keys(), { issuer: stack.issuer });
      expect(renewed.payload.sub).toBe("alice");
      expect(renewed.payload.iat!).toBeGreaterThan(decodeJwt(first.slice("Bearer ".length)).iat!);
      expect((await fetchFrom("/calendar/after")).headers["authorization"]).toBe(latest);
    } finally {
      await context.close();
    }
  }, 90_000);
});
