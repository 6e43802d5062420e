// The forward-auth behaviours every front proxy must show, as vitest suites a proxy's e2e file
// runs against its own stack: bearer tokens allowed with their identity and denied with
// Portcullis's challenge, identity headers a client sends never reaching the upstream, and a
// browser sent to the IdP and signed in in Chromium, and a client's own forwarded headers ignored. Written once so nginx, Caddy and Envoy are
// held to exactly the same outcomes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginInBrowser } from "./loginInBrowser.ts";
import { setCookiesOf } from "./parseSetCookie.ts";
import type { StartedBrowser } from "./startBrowser.ts";
import { startWithBrowser, type StackWithBrowser } from "./startWithBrowser.ts";
import type { HttpsResponse } from "./httpsRequest.ts";
import type { ForwardAuthStack } from "./startForwardAuthStack.ts";

export const HTML_ACCEPT = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const LOGIN_TIMEOUT = 60_000;

/** Starts the stack (and Chromium, with `browser`) before the file's tests, stops both after. */
export function useForwardAuthStack(
  start: () => Promise<ForwardAuthStack>,
  options: { readonly browser: boolean },
): { stack: () => ForwardAuthStack; browser: () => StartedBrowser } {
  let stack: ForwardAuthStack | undefined;
  let running: StackWithBrowser<ForwardAuthStack> | undefined;
  beforeAll(async () => {
    if (options.browser) {
      running = await startWithBrowser(start);
      stack = running.stack;
    } else {
      stack = await start();
    }
  }, 90_000);
  afterAll(async () => {
    await (running ?? stack)?.close();
  });
  return {
    stack: () => stack as ForwardAuthStack,
    browser: () => running?.browser as StartedBrowser,
  };
}

/** The upstream's view of the requests it got for `path` (path and query). */
export const upstreamRequestsFor = (stack: ForwardAuthStack, path: string) =>
  stack.upstream.requests().filter((r) => r.path === path);

export function describeBearerTokensThrough(proxy: string, stack: () => ForwardAuthStack): void {
  describe(`bearer tokens through ${proxy}`, () => {
    it("lets a user's token with the route's scope through with its identity, the token itself not passed on", async () => {
      const token = await stack().idp.mintUserToken("alice", ["api.read"]);
      const res = await stack().request("/api/items?n=1", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const seen = upstreamRequestsFor(stack(), "/api/items?n=1").at(-1);
      expect(seen?.headers["x-user-sub"]).toBe("alice");
      expect(seen?.headers["authorization"]).toBeUndefined();
    });

    it("lets a machine's token through as the client it is (x-client-id, no x-user-sub)", async () => {
      const token = await stack().idp.clientCredentialsToken(["api.read"]);
      expect((await stack().request("/api/machine", { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      );
      const seen = upstreamRequestsFor(stack(), "/api/machine").at(-1);
      expect(seen?.headers["x-client-id"]).toBe("demo-cli");
      expect(seen?.headers["x-user-sub"]).toBeUndefined();
    });

    it("answers a request without a token 401 with Portcullis's Bearer challenge, the upstream not asked", async () => {
      const res = await stack().request("/api/none");
      expect(res.status).toBe(401);
      expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer realm="portcullis"/);
      expect(upstreamRequestsFor(stack(), "/api/none")).toHaveLength(0);
    });

    it("answers a token without the route's scope 403 insufficient_scope", async () => {
      const token = await stack().idp.clientCredentialsToken([]);
      const res = await stack().request("/api/scoped", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(403);
      expect(String(res.headers["www-authenticate"])).toContain('error="insufficient_scope"');
      expect(upstreamRequestsFor(stack(), "/api/scoped")).toHaveLength(0);
    });

    it("answers a forged token 401 invalid_token, the upstream not asked", async () => {
      const res = await stack().request("/api/forged", { headers: { authorization: "Bearer a.b.c" } });
      expect(res.status).toBe(401);
      expect(String(res.headers["www-authenticate"])).toContain('error="invalid_token"');
      expect(upstreamRequestsFor(stack(), "/api/forged")).toHaveLength(0);
    });
  });
}

export function describeIdentityHeadersStripped(proxy: string, stack: () => ForwardAuthStack): void {
  describe(`identity headers a client sends through ${proxy}`, () => {
    it("never reach the upstream, allowed or public", async () => {
      const forged = {
        "x-user-sub": "admin",
        "x-user-email": "admin@example.com",
        "x-user-roles": "admin",
        "x-user-context": "e30=",
        "x-client-id": "trusted",
      };
      const token = await stack().idp.clientCredentialsToken(["api.read"]);
      expect(
        (await stack().request("/api/strip", { headers: { ...forged, authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      expect((await stack().request("/public/strip", { headers: forged })).status).toBe(200);
      const onApi = upstreamRequestsFor(stack(), "/api/strip").at(-1)?.headers ?? {};
      expect(onApi["x-user-sub"]).toBeUndefined();
      expect(onApi["x-client-id"]).toBe("demo-cli");
      expect(onApi["x-user-email"]).toBeUndefined();
      expect(onApi["x-user-roles"]).not.toBe("admin");
      expect(onApi["x-user-context"]).not.toBe("e30=");
      const onPublic = upstreamRequestsFor(stack(), "/public/strip").at(-1)?.headers ?? {};
      for (const name of Object.keys(forged)) expect(onPublic[name]).toBeUndefined();
    });
  });
}

export function describeLoginRedirectThrough(proxy: string, stack: () => ForwardAuthStack): void {
  describe(`a browser without a session through ${proxy}`, () => {
    it("is sent to the IdP directly (302) with Portcullis's login cookie, the upstream not asked", async () => {
      const res = await stack().request("/hello", { headers: HTML_ACCEPT });
      expect(res.status).toBe(302);
      expect(String(res.headers.location)).toMatch(new RegExp(`^${stack().idp.authorizationEndpoint}\\?`));
      expect(setCookiesOf(res.headers).map((c) => c.name)).toEqual([
        expect.stringMatching(/^__Host-portcullis-login\./),
      ]);
      expect(upstreamRequestsFor(stack(), "/hello")).toHaveLength(0);
    });
  });
}

export function describeBrowserLoginThrough(
  proxy: string,
  stack: () => ForwardAuthStack,
  browser: () => StartedBrowser,
): void {
  describe(`browser login through ${proxy}`, () => {
    it(
      "signs in in Chromium and lands on the page asked for, the upstream seeing the user and not the session cookie",
      async () => {
        const context = await browser().newContext();
        try {
          const page = await context.newPage();
          const origin = stack().origin;
          await page.goto(`${origin}/hello?from=${proxy}`);
          await loginInBrowser(page, { user: "bob", secondFactor: false });
          await page.waitForURL((url) => url.href === `${origin}/hello?from=${proxy}`);
          const seen = upstreamRequestsFor(stack(), `/hello?from=${proxy}`).at(-1);
          expect(seen?.headers["x-user-sub"]).toBe("bob");
          expect(String(seen?.headers["cookie"] ?? "")).not.toContain("__Host-portcullis");
          // The session holds: the next page is let through without the IdP.
          const again = await page.goto(`${origin}/hello?again=1`);
          expect(again?.status()).toBe(200);
          expect(upstreamRequestsFor(stack(), "/hello?again=1").at(-1)?.headers["x-user-sub"]).toBe("bob");
        } finally {
          await context.close();
        }
      },
      LOGIN_TIMEOUT,
    );
  });
}

/** Ways a client might name Portcullis's forward-auth endpoint (/oauth2/auth) to a front proxy. */
export const ENDPOINT_SPELLINGS = [
  "/oauth2/auth",
  "/oauth2/auth?x=1",
  "/oauth2/auth/",
  "/oauth2//auth",
  "/oauth2/./auth",
  "/oauth2/x/../auth",
  "/oauth2/%61uth",
  "/oauth2%2fauth",
  "/OAUTH2/AUTH",
  "/oauth2/auth;x",
];

/** The answer is a refusal, or the application's (the path went to it): never the endpoint's own. */
export function expectNotTheEndpoint(stack: ForwardAuthStack, path: string, res: HttpsResponse): void {
  if (res.status !== 400 && res.status !== 404) expect(upstreamRequestsFor(stack, path), path).not.toHaveLength(0);
  expect(res.headers["x-auth-remove-headers"], path).toBeUndefined();
  expect(res.headers["x-envoy-auth-headers-to-remove"], path).toBeUndefined();
}

/**
 * What a client sends to steer the decision: its own copies of the headers the proxy sets
 * (`forged`, which must name a public path) are ignored, and the endpoint itself (Portcullis's
 * default `/oauth2/auth`) is not reachable through the proxy.
 */
export function describeClientForwardingIgnored(
  proxy: string,
  stack: () => ForwardAuthStack,
  forged: Readonly<Record<string, string>>,
): void {
  describe(`what a client sends that ${proxy} must not pass on`, () => {
    it(`a client's own ${Object.keys(forged).join(", ")} are ignored: the real request is decided`, async () => {
      const res = await stack().request("/api/secret", { headers: { ...forged } });
      expect(res.status).toBe(401);
      expect(upstreamRequestsFor(stack(), "/api/secret")).toHaveLength(0);
    });

    it(`a client's own ${Object.keys(forged).join(", ")} do not reach the upstream either`, async () => {
      expect((await stack().request("/public/forged", { headers: { ...forged } })).status).toBe(200);
      const seen = upstreamRequestsFor(stack(), "/public/forged").at(-1)?.headers ?? {};
      for (const [name, value] of Object.entries(forged)) expect(seen[name], name).not.toBe(value);
    });

    it("the forward-auth endpoint itself is not reachable from outside, however it is spelled", async () => {
      const token = await stack().idp.clientCredentialsToken(["api.read"]);
      for (const path of ENDPOINT_SPELLINGS) {
        const res = await stack().request(path, { headers: { ...forged, authorization: `Bearer ${token}` } });
        expectNotTheEndpoint(stack(), path, res);
        expect(res.headers["x-user-sub"], path).toBeUndefined();
        expect(res.headers["x-client-id"], path).toBeUndefined();
      }
    });
  });
}

/** policy.removeRequestHeaders' default: headers with which a client makes a framework serve another host, path or method. */
const STEERING_HEADERS = {
  "x-forwarded-host": "evil.example",
  "x-forwarded-prefix": "/evil",
  forwarded: "host=evil.example;proto=http",
  "x-original-url": "/evil",
  "x-rewrite-url": "/evil",
  "x-http-method-override": "DELETE",
  "x-method-override": "DELETE",
  "x-http-method": "DELETE",
};

export function describeSteeringHeadersRemoved(proxy: string, stack: () => ForwardAuthStack): void {
  describe(`headers that steer the upstream, sent by a client through ${proxy}`, () => {
    it("never reach the upstream as the client sent them, allowed or public", async () => {
      const token = await stack().idp.clientCredentialsToken(["api.read"]);
      const headers = { ...STEERING_HEADERS, authorization: `Bearer ${token}` };
      expect((await stack().request("/api/steer", { headers })).status).toBe(200);
      expect((await stack().request("/public/steer", { headers: STEERING_HEADERS })).status).toBe(200);
      for (const path of ["/api/steer", "/public/steer"]) {
        const seen = upstreamRequestsFor(stack(), path).at(-1)?.headers ?? {};
        for (const [name, value] of Object.entries(STEERING_HEADERS)) {
          expect(String(seen[name] ?? ""), `${name} on ${path}`).not.toContain(value);
        }
      }
    });
  });
}
