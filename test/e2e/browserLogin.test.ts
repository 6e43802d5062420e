// Browser login through the real Envoy, Portcullis (`serve`) and the dev IdP, driven by a real
// Chromium: the 302 to the IdP and its transaction cookie, a full login back to the page asked for,
// the identity the upstream gets, a reload, tampered cookies, broken and replayed callbacks, IdP
// errors, open redirects, the callers that must never be redirected, several tabs, login metrics.

import { randomUUID } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EchoedRequest } from "../../src/demo/startEchoUpstream.ts";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import { parseSetCookie, setCookiesOf } from "../harness/parseSetCookie.ts";
import type { SetCookie } from "../harness/parseSetCookie.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { LOGIN_SCOPES, startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

const SESSION_COOKIE = "__Host-portcullis";
const LOGIN_COOKIE = /^__Host-portcullis-login\.[A-Za-z0-9_-]{16}$/;
/** A browser's page navigation, as Chromium sends it (Accept with text/html). */
const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const TEST_TIMEOUT = 60_000;

let stack: Stack;
let browser: StartedBrowser;
let running: StackWithBrowser<Stack> | undefined;

beforeAll(async () => {
  running = await startWithBrowser(() => startStack({ login: true }));
  ({ stack, browser } = running);
});

afterAll(async () => {
  await running?.close();
});

/** Logins by result (and reason), over every provider label: a callback whose state matches no
 * transaction cannot name its provider. */
const loginMetric = (result: string, reason?: string) =>
  stack.metric("portcullis_logins_total", { result, ...(reason === undefined ? {} : { reason }) });

/** A fresh browser profile (no cookies at Portcullis or the IdP) with one page. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

/** The upstream requests for exactly this path and query. */
function upstreamRequestsFor(path: string): EchoedRequest[] {
  return stack.upstream.requests().filter((r) => r.path === path);
}

/** A page request without a session: the 302 to the IdP, its state and its transaction cookie. */
async function startLoginOverHttps(path = "/hello") {
  const res = await stack.request(path, { headers: HTML });
  expect(res.status).toBe(302);
  const location = new URL(String(res.headers.location));
  const cookies = setCookiesOf(res.headers);
  expect(cookies).toHaveLength(1);
  const txn = cookies[0] as SetCookie;
  return {
    res,
    location,
    state: location.searchParams.get("state") as string,
    txn,
    cookieHeader: `${txn.name}=${txn.value}`,
  };
}

/** A copy of a cookie value with one character in the middle changed (still valid base64url). */
function flipOneCharacter(value: string): string {
  const at = Math.floor(value.length / 2);
  const replacement = value[at] === "A" ? "B" : "A";
  return value.slice(0, at) + replacement + value.slice(at + 1);
}

describe("the redirect to the identity provider", () => {
  it("is a 302 with response_type=code, PKCE S256, state, nonce, the configured scopes and redirect_uri, and one transaction cookie", async () => {
    const started = await loginMetric("started");
    const { location, txn, res } = await startLoginOverHttps("/hello/page?x=1");
    expect(`${location.origin}${location.pathname}`).toBe(stack.idp().authorizationEndpoint);
    const q = location.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(stack.idp().webClient.id);
    expect(q.get("redirect_uri")).toBe(`${stack.origin}/oauth2/callback`);
    expect(q.get("scope")?.split(" ")).toEqual([...LOGIN_SCOPES]);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The verifier stays in the sealed cookie; the secret never travels in a URL.
    expect(q.has("code_verifier")).toBe(false);
    expect(q.has("client_secret")).toBe(false);
    expect(res.body).not.toContain(stack.idp().webClient.secret);

    expect(txn.name).toMatch(LOGIN_COOKIE);
    expect(txn.attributes.get("httponly")).toBe(true);
    expect(txn.attributes.get("secure")).toBe(true);
    expect(txn.attributes.get("samesite")).toBe("Lax");
    expect(txn.attributes.get("path")).toBe("/");
    expect(txn.attributes.has("domain")).toBe(false);
    const maxAge = Number(txn.attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
    expect(await loginMetric("started")).toBe(started + 1);
  });

  it("is made afresh for every login: a new state, nonce and PKCE challenge each time", async () => {
    const first = await startLoginOverHttps();
    const second = await startLoginOverHttps();
    expect(second.state).not.toBe(first.state);
    expect(second.location.searchParams.get("nonce")).not.toBe(first.location.searchParams.get("nonce"));
    expect(second.location.searchParams.get("code_challenge")).not.toBe(
      first.location.searchParams.get("code_challenge"),
    );
    expect(second.txn.value).not.toBe(first.txn.value);
  });
});

describe("a full login in the browser", () => {
  let context: BrowserContext;
  let page: Page;
  const path = "/hello/page?x=1&y=a%20b";

  beforeAll(async () => {
    ({ context, page } = await freshPage());
  });
  afterAll(() => context?.close());

  it(
    "lands on the page first asked for, with its query, and the upstream gets the session's identity instead of the client's headers and without our cookies",
    async () => {
      // Headers a client might try to smuggle in, and a cookie of the application that must pass.
      await context.setExtraHTTPHeaders({ "x-user-sub": "mallory", "x-user-email": "mallory@evil.example" });
      await context.addCookies([{ name: "theme", value: "dark", url: stack.origin }]);
      const started = await loginMetric("started");
      const completed = await loginMetric("completed");
      const codeExchanges = stack.idp().counts.tokenByGrant.authorization_code;

      const login = await loginThroughStack(page, stack.origin, path, { user: "alice", secondFactor: false });
      expect(page.url()).toBe(`${stack.origin}${path}`);
      expect(login.loginRedirect.status()).toBe(302);
      expect(await page.locator("#identity").textContent()).toContain("alice@example.com");

      const arrived = upstreamRequestsFor(path);
      expect(arrived).toHaveLength(1);
      const headers = arrived[0]?.headers ?? {};
      expect(headers["x-user-sub"]).toBe("alice");
      expect(headers["x-user-email"]).toBe("alice@example.com");
      expect(String(headers["x-user-roles"]).split(",").sort()).toEqual(["admin", "user"]);
      expect(headers.cookie).toBe("theme=dark");
      expect(headers.authorization).toBeUndefined();
      expect(stack.idp().counts.tokenByGrant.authorization_code).toBe(codeExchanges + 1);
      expect(await loginMetric("started")).toBe(started + 1);
      expect(await loginMetric("completed")).toBe(completed + 1);
    },
    TEST_TIMEOUT,
  );

  it(
    "ends the callback with a __Host- session cookie that is HttpOnly, Secure and SameSite=Lax, and expires the transaction cookie",
    async () => {
      // A second login in a new profile, so this test reads the callback's own answer.
      const { context: other, page: otherPage } = await freshPage();
      try {
        const login = await loginThroughStack(otherPage, stack.origin, "/cookies", {
          user: "bob",
          secondFactor: false,
        });
        const cookies = login.callbackSetCookies.map(parseSetCookie);
        const session = cookies.find((c) => c.name === SESSION_COOKIE);
        expect(session).toBeDefined();
        expect(session?.attributes.get("httponly")).toBe(true);
        expect(session?.attributes.get("secure")).toBe(true);
        expect(session?.attributes.get("samesite")).toBe("Lax");
        expect(session?.attributes.get("path")).toBe("/");
        expect(session?.attributes.has("domain")).toBe(false);
        const cleared = cookies.find((c) => LOGIN_COOKIE.test(c.name));
        expect(cleared?.attributes.get("max-age")).toBe("0");
        const stored = (await other.cookies(stack.origin)).map((c) => c.name);
        expect(stored).toContain(SESSION_COOKIE);
        expect(stored.filter((name) => LOGIN_COOKIE.test(name))).toEqual([]);
      } finally {
        await other.close();
      }
    },
    TEST_TIMEOUT,
  );

  it("keeps the session on a reload: no new authorization request and no second code exchange", async () => {
    const counts = { ...stack.idp().counts, grants: { ...stack.idp().counts.tokenByGrant } };
    const response = await page.reload();
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${stack.origin}${path}`);
    expect(stack.idp().counts.authorization).toBe(counts.authorization);
    expect(stack.idp().counts.tokenByGrant.authorization_code).toBe(counts.grants.authorization_code);
    const arrived = upstreamRequestsFor(path);
    expect(arrived).toHaveLength(2);
    expect(arrived[1]?.headers["x-user-sub"]).toBe("alice");
  });

  it("never lets a __Host-portcullis cookie through to the upstream", () => {
    const leaked = stack.upstream.requests().filter((r) => String(r.headers.cookie ?? "").includes(SESSION_COOKIE));
    expect(stack.upstream.requests().length).toBeGreaterThan(0);
    expect(leaked).toEqual([]);
  });

  it("serves API calls the page makes with the session (fetch), with the session's identity", async () => {
    const echoed = await page.evaluate(async () => {
      const res = await fetch("/api/items", { headers: { accept: "application/json" } });
      return { status: res.status, body: (await res.json()) as { headers: Record<string, string> } };
    });
    expect(echoed.status).toBe(200);
    expect(echoed.body.headers["x-user-sub"]).toBe("alice");
    expect(echoed.body.headers.cookie).toBe("theme=dark");
  });

  it(
    "turns a tampered session cookie into no session: a new login for a browser, 401 for an API client, never 500",
    async () => {
      const session = (await context.cookies(stack.origin)).find((c) => c.name === SESSION_COOKIE);
      expect(session).toBeDefined();
      const tampered = flipOneCharacter(session?.value ?? "");
      const truncated = (session?.value ?? "").slice(0, -10);
      for (const value of [tampered, truncated]) {
        const api = await stack.request("/hello", { headers: { cookie: `${SESSION_COOKIE}=${value}` } });
        expect(api.status).toBe(401);
        expect(String(api.headers["www-authenticate"])).toMatch(/^Bearer /);
        expect(api.headers.location).toBeUndefined();
        // The dead cookie is expired in the same answer.
        expect(setCookiesOf(api.headers).map((c) => [c.name, c.attributes.get("max-age")])).toEqual([
          [SESSION_COOKIE, "0"],
        ]);
        const navigation = await stack.request("/hello", {
          headers: { ...HTML, cookie: `${SESSION_COOKIE}=${value}` },
        });
        expect(navigation.status).toBe(302);
        expect(String(navigation.headers.location)).toMatch(new RegExp(`^${stack.idp().authorizationEndpoint}\\?`));
      }
      // The untouched cookie still works, so it is the change that was refused.
      const intact = await stack.request("/hello", { headers: { cookie: `${SESSION_COOKIE}=${session?.value}` } });
      expect(intact.status).toBe(200);

      // In the browser (a profile with no IdP session), the tampered cookie leads to the IdP's login page.
      const { context: other, page: otherPage } = await freshPage();
      try {
        await other.addCookies([
          { name: SESSION_COOKIE, value: tampered, url: stack.origin, secure: true, httpOnly: true, sameSite: "Lax" },
        ]);
        const first = otherPage.waitForResponse((res) => res.url() === `${stack.origin}/hello`);
        await otherPage.goto(`${stack.origin}/hello`);
        expect((await first).status()).toBe(302);
        await expect(otherPage.locator("#login-form").isVisible()).resolves.toBe(true);
        expect(new URL(otherPage.url()).origin).toBe(new URL(stack.issuer).origin);
      } finally {
        await other.close();
      }
    },
    TEST_TIMEOUT,
  );
});

describe("a callback that does not belong to a pending login", () => {
  it("with a state that matches no transaction gives a 400 page, calls no token endpoint, and counts failed{reason=state_mismatch}", async () => {
    const failed = await loginMetric("failed", "state_mismatch");
    const exchanges = stack.idp().counts.token;
    const { cookieHeader } = await startLoginOverHttps();
    const res = await stack.request(
      `/oauth2/callback?code=some-code&state=${randomUUID()}&iss=${encodeURIComponent(stack.issuer)}`,
      {
        headers: { ...HTML, cookie: cookieHeader },
      },
    );
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers.location).toBeUndefined();
    expect(setCookiesOf(res.headers).filter((c) => c.name === SESSION_COOKIE)).toEqual([]);
    expect(stack.idp().counts.token).toBe(exchanges);
    expect(await loginMetric("failed", "state_mismatch")).toBe(failed + 1);
  });

  it("without the transaction cookie gives a 400 page and calls no token endpoint", async () => {
    const failed = await loginMetric("failed", "state_mismatch");
    const exchanges = stack.idp().counts.token;
    const { state } = await startLoginOverHttps();
    const res = await stack.request(
      `/oauth2/callback?code=some-code&state=${state}&iss=${encodeURIComponent(stack.issuer)}`,
      { headers: HTML },
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain("Sign-in failed");
    expect(setCookiesOf(res.headers)).toEqual([]);
    expect(stack.idp().counts.token).toBe(exchanges);
    expect(await loginMetric("failed", "state_mismatch")).toBe(failed + 1);
  });

  it(
    "visited a second time (a replayed callback) gives 400, even with a copy of the transaction cookie, and the session stays",
    async () => {
      const { context, page } = await freshPage();
      try {
        const path = "/replay?n=1";
        const captured = page.waitForResponse((res) => res.url() === `${stack.origin}${path}`);
        const callback = page.waitForResponse((res) => new URL(res.url()).pathname === "/oauth2/callback");
        await page.goto(`${stack.origin}${path}`);
        expect((await captured).status()).toBe(302);
        const txn = (await context.cookies(stack.origin)).find((c) => LOGIN_COOKIE.test(c.name));
        expect(txn).toBeDefined();
        await loginInBrowser(page, { user: "bob", secondFactor: false });
        const callbackUrl = (await callback).url();
        await page.waitForURL((url) => url.href === `${stack.origin}${path}`);
        const exchanges = stack.idp().counts.tokenByGrant.authorization_code;

        // The browser again: its transaction cookie is gone, so the state is unknown.
        const again = await page.goto(callbackUrl);
        expect(again?.status()).toBe(400);
        await expect(page.locator("h1").textContent()).resolves.toBe("Sign-in failed");

        // An attacker's replay with the transaction cookie copied from before: refused before any exchange.
        const replayed = await stack.request(new URL(callbackUrl).pathname + new URL(callbackUrl).search, {
          headers: { ...HTML, cookie: `${txn?.name}=${txn?.value}` },
        });
        expect(replayed.status).toBe(400);
        expect(replayed.body).toContain("already used");
        expect(setCookiesOf(replayed.headers).filter((c) => c.name === SESSION_COOKIE)).toEqual([]);
        expect(stack.idp().counts.tokenByGrant.authorization_code).toBe(exchanges);

        // The failed callbacks did not end the session the first one made.
        const back = await page.goto(`${stack.origin}${path}`);
        expect(back?.status()).toBe(200);
        expect(upstreamRequestsFor(path).at(-1)?.headers["x-user-sub"]).toBe("bob");
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});

describe("an error from the identity provider", () => {
  it(
    "(the user cancels) shows a 400 page naming access_denied with a Try again link to the page asked for, not a loop",
    async () => {
      const failed = await loginMetric("failed", "idp_error");
      const { context, page } = await freshPage();
      try {
        const path = "/cancelled/page?q=1";
        await page.goto(`${stack.origin}${path}`);
        await expect(page.locator("#login-form").isVisible()).resolves.toBe(true);
        const callback = page.waitForResponse((res) => new URL(res.url()).pathname === "/oauth2/callback");
        await page.locator("#cancel").click();
        const answer = await callback;
        expect(answer.status()).toBe(400);
        await page.waitForLoadState("domcontentloaded");
        expect(new URL(page.url()).pathname).toBe("/oauth2/callback");
        expect(await page.locator("body").textContent()).toContain("access_denied");
        const retry = page.locator("a", { hasText: "Try again" });
        expect(await retry.getAttribute("href")).toBe(`${stack.origin}${path}`);
        expect((await context.cookies(stack.origin)).map((c) => c.name)).not.toContain(SESSION_COOKIE);
        expect(await loginMetric("failed", "idp_error")).toBe(failed + 1);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );

  it("with markup in error and error_description shows it escaped or not at all", async () => {
    const { state, cookieHeader } = await startLoginOverHttps("/escaped");
    const query = new URLSearchParams({
      state,
      iss: stack.issuer,
      error: `<script>alert(1)</script>`,
      error_description: `<img src=x onerror=alert(2)>`,
    });
    const res = await stack.request(`/oauth2/callback?${query}`, { headers: { ...HTML, cookie: cookieHeader } });
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(res.body).toContain("Sign-in failed");
    expect(res.body).not.toMatch(/<script|<img/i);
  });
});

describe("return addresses", () => {
  const hostile = [
    "//evil.example",
    "/\\evil.example",
    "https:evil.example",
    "https://user@evil.example",
    "%2F%2Fevil.example",
    "https://evil.example/",
  ];

  it.each(hostile)("refuses /oauth2/start?rd=%s with 400 and no Location", async (rd) => {
    const started = await loginMetric("started");
    const res = await stack.request(`/oauth2/start?rd=${encodeURIComponent(rd)}`, { headers: HTML });
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).not.toContain("evil.example");
    expect(setCookiesOf(res.headers)).toEqual([]);
    expect(await loginMetric("started")).toBe(started);
  });

  it(
    "accepts a same-origin rd=/ok: a 302 to the IdP that comes back to /ok after the login",
    async () => {
      const res = await stack.request("/oauth2/start?rd=%2Fok", { headers: HTML });
      expect(res.status).toBe(302);
      expect(String(res.headers.location)).toMatch(new RegExp(`^${stack.idp().authorizationEndpoint}\\?`));
      expect(setCookiesOf(res.headers).map((c) => c.name)).toEqual([expect.stringMatching(LOGIN_COOKIE)]);

      const { context, page } = await freshPage();
      try {
        await page.goto(`${stack.origin}/oauth2/start?rd=%2Fok`);
        await loginInBrowser(page, { user: "bob", secondFactor: false });
        await page.waitForURL((url) => url.href === `${stack.origin}/ok`);
        expect(upstreamRequestsFor("/ok").at(-1)?.headers["x-user-sub"]).toBe("bob");
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});

describe("callers that cannot follow a login redirect", () => {
  it("an API client (Accept: application/json) gets 401 with a Bearer challenge, never a 302", async () => {
    const res = await stack.request("/hello", { headers: { accept: "application/json" } });
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer realm=/);
    expect(res.headers.location).toBeUndefined();
    expect(setCookiesOf(res.headers)).toEqual([]);
  });

  it("an XHR (x-requested-with: XMLHttpRequest) gets 401 even when it accepts text/html", async () => {
    const res = await stack.request("/hello", { headers: { ...HTML, "x-requested-with": "XMLHttpRequest" } });
    expect(res.status).toBe(401);
    expect(res.headers.location).toBeUndefined();
  });

  it("a gRPC call (content-type: application/grpc) is never redirected, even when it accepts text/html", async () => {
    for (const method of ["POST", "GET"]) {
      const res = await stack.request("/pkg.Service/Method", {
        method,
        headers: { ...HTML, "content-type": "application/grpc", te: "trailers" },
      });
      // Envoy turns the 401 denial of a gRPC request into a gRPC answer: HTTP 200, grpc-status 16
      // (UNAUTHENTICATED), which only a 401 maps to (a 302 would become grpc-status 2, UNKNOWN).
      expect(res.status).toBe(200);
      expect(res.headers["grpc-status"]).toBe("16");
      expect(res.headers["content-type"]).toBe("application/grpc");
      expect(res.headers.location).toBeUndefined();
    }
    expect(upstreamRequestsFor("/pkg.Service/Method")).toEqual([]);
  });

  it("a fetch() from a page without a session gets 401, not the IdP's page", async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(`${stack.origin}/public/start`);
      const status = await page.evaluate(
        async () => (await fetch("/hello", { headers: { accept: "text/html" }, redirect: "manual" })).status,
      );
      expect(status).toBe(401);
    } finally {
      await context.close();
    }
  });
});

describe("several tabs", () => {
  it(
    "two tabs opened at the same instant from an empty cookie jar both complete, each on its own page, in either order",
    async () => {
      const completed = await loginMetric("completed");
      const context = await browser.newContext();
      try {
        const [one, two] = [await context.newPage(), await context.newPage()];
        // Both navigations leave with an empty cookie jar (a browser restoring its tabs does this):
        // each login must still get a cookie of its own.
        await Promise.all([one.goto(`${stack.origin}/tab/one?n=1`), two.goto(`${stack.origin}/tab/two?n=2`)]);
        await expect(one.locator("#login-form").isVisible()).resolves.toBe(true);
        await expect(two.locator("#login-form").isVisible()).resolves.toBe(true);
        const pending = (await context.cookies(stack.origin))
          .filter((c) => LOGIN_COOKIE.test(c.name))
          .map((c) => c.name);
        expect(pending).toHaveLength(2);
        expect(new Set(pending).size).toBe(2);

        // The later login first, so the earlier transaction must survive the later one's callback.
        await loginInBrowser(two, { user: "alice", secondFactor: false });
        await two.waitForURL((url) => url.href === `${stack.origin}/tab/two?n=2`);
        await loginInBrowser(one, { user: "alice", secondFactor: false });
        await one.waitForURL((url) => url.href === `${stack.origin}/tab/one?n=1`);

        expect(upstreamRequestsFor("/tab/one?n=1").at(-1)?.headers["x-user-sub"]).toBe("alice");
        expect(upstreamRequestsFor("/tab/two?n=2").at(-1)?.headers["x-user-sub"]).toBe("alice");
        expect(await loginMetric("completed")).toBe(completed + 2);
        expect((await context.cookies(stack.origin)).filter((c) => LOGIN_COOKIE.test(c.name))).toEqual([]);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});
