// A browser session's life after login, through the real Envoy, Portcullis and the dev IdP in
// Chromium: access tokens that near their end are refreshed once for many parallel requests (the
// IdP issues 20 s tokens, Portcullis refreshes within 12 s of the end) and the resealed cookie
// reaches the browser; a token past its end is refreshed too; step-up to a second factor; sign-out
// at Portcullis and at the IdP. The two clock-driven sessions log in first and are used last, so
// their tokens age while the other tests run.

import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOA_PASSWORD, LOA_SECOND_FACTOR } from "../../src/demo/startDevIdp.ts";
import type { EchoedRequest } from "../../src/demo/startEchoUpstream.ts";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import { parseSetCookie } from "../harness/parseSetCookie.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

const SESSION_COOKIE = "__Host-portcullis";
const ACCESS_TOKEN_TTL_SECONDS = 20;
// Half the token lifetime: Portcullis never refreshes earlier than that, whatever the window says.
const REFRESH_WINDOW_SECONDS = 10;
const TEST_TIMEOUT = 60_000;

let stack: Stack;
let browser: StartedBrowser;
let running: StackWithBrowser<Stack> | undefined;
interface AgingSession {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly path: string;
  /** After the login landed: the access token was issued before this. */
  readonly landedAt: number;
}
/** Refreshed inside the window, by parallel requests. */
let nearEnd: AgingSession;
/** Left alone until its access token has expired. */
let pastEnd: AgingSession;

async function agingSession(path: string): Promise<AgingSession> {
  const { context, page } = await freshPage();
  await loginThroughStack(page, stack.origin, path, { user: "alice", secondFactor: false });
  return { context, page, path, landedAt: Date.now() };
}

beforeAll(async () => {
  running = await startWithBrowser(() =>
    startStack({
      login: true,
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS },
      session: { refreshWindowSeconds: REFRESH_WINDOW_SECONDS },
    }),
  );
  ({ stack, browser } = running);
  nearEnd = await agingSession("/dashboard");
  pastEnd = await agingSession("/late");
});

afterAll(async () => {
  await nearEnd?.context.close();
  await pastEnd?.context.close();
  await running?.close();
});

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(stack.origin)).find((c) => c.name === SESSION_COOKIE)?.value;
}

function upstreamRequestsFor(path: string): EchoedRequest[] {
  return stack.upstream.requests().filter((r) => r.path === path);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const refreshGrants = () => stack.idp().counts.tokenByGrant.refresh_token;

describe("a session within its access token's lifetime", () => {
  it("is used as it is: no refresh, no new cookie", async () => {
    const { page, context, path } = pastEnd;
    const cookie = await sessionCookie(context);
    const grants = refreshGrants();
    expect((await page.reload())?.status()).toBe(200);
    expect(refreshGrants()).toBe(grants);
    expect(await sessionCookie(context)).toBe(cookie);
    expect(upstreamRequestsFor(path).at(-1)?.headers["x-user-sub"]).toBe("alice");
  });
});

describe("step-up for a browser", () => {
  it(
    "sends a password-only session to the IdP with acr_values and prompt=login, and after a login with the second factor the page loads",
    async () => {
      const { context, page } = await freshPage();
      try {
        await loginThroughStack(page, stack.origin, "/hello", { user: "alice", secondFactor: false });
        const weakSession = await sessionCookie(context);

        // An API call with the weak session is told what is missing (RFC 9470), not redirected.
        const api = await stack.request("/secure/data", { headers: { cookie: `${SESSION_COOKIE}=${weakSession}` } });
        expect(api.status).toBe(401);
        expect(String(api.headers["www-authenticate"])).toContain(`error="insufficient_user_authentication"`);
        expect(api.headers.location).toBeUndefined();

        const path = "/secure/page?s=1";
        const target = `${stack.origin}${path}`;
        const redirect = page.waitForResponse((res) => res.url() === target);
        await page.goto(target);
        const stepUp = await redirect;
        expect(stepUp.status()).toBe(302);
        const location = new URL(String(await stepUp.headerValue("location")));
        expect(`${location.origin}${location.pathname}`).toBe(stack.idp().authorizationEndpoint);
        expect(location.searchParams.get("acr_values")).toBe(LOA_SECOND_FACTOR);
        expect(location.searchParams.get("prompt")).toBe("login");
        // The 302 carries the new login's transaction and leaves the session alone.
        const setCookies = (await stepUp.headersArray())
          .filter((h) => h.name.toLowerCase() === "set-cookie")
          .map((h) => parseSetCookie(h.value));
        expect(setCookies.map((c) => c.name)).toEqual([
          expect.stringMatching(/^__Host-portcullis-login\.[A-Za-z0-9_-]{16}$/),
        ]);
        expect(upstreamRequestsFor(path)).toEqual([]);

        // The IdP asks again, with the second factor required.
        await expect(page.locator("#step-up-notice").isVisible()).resolves.toBe(true);
        await loginInBrowser(page, { user: "alice", secondFactor: true });
        await page.waitForURL((url) => url.href === target);
        const arrived = upstreamRequestsFor(path);
        expect(arrived).toHaveLength(1);
        expect(arrived[0]?.headers["x-user-sub"]).toBe("alice");
        expect(await sessionCookie(context)).not.toBe(weakSession);
        expect((await page.reload())?.status()).toBe(200);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );

  it("answers an API token without LOA 2 with 401 insufficient_user_authentication and acr_values, and lets an LOA 2 token through", async () => {
    const weak = await stack.idp().mintUserToken("alice", ["openid", "api.read"], { acr: LOA_PASSWORD, amr: ["pwd"] });
    const res = await stack.request("/secure/data", { headers: { authorization: `Bearer ${weak}` } });
    expect(res.status).toBe(401);
    const challenge = String(res.headers["www-authenticate"]);
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`error="insufficient_user_authentication"`);
    expect(challenge).toContain(`acr_values="${LOA_SECOND_FACTOR}"`);
    expect(res.headers.location).toBeUndefined();

    const strong = await stack
      .idp()
      .mintUserToken("alice", ["openid", "api.read"], { acr: LOA_SECOND_FACTOR, amr: ["pwd", "otp"] });
    const ok = await stack.request("/secure/data", { headers: { authorization: `Bearer ${strong}` } });
    expect(ok.status).toBe(200);
  });
});

describe("sign-out", () => {
  let context: BrowserContext;
  let page: Page;
  const path = "/account?tab=1";

  beforeAll(async () => {
    ({ context, page } = await freshPage());
    await loginThroughStack(page, stack.origin, path, { user: "bob", secondFactor: false });
  }, TEST_TIMEOUT);
  afterAll(() => context?.close());

  async function stillSignedIn(): Promise<void> {
    const res = await page.goto(`${stack.origin}${path}`);
    expect(res?.status()).toBe(200);
    expect(upstreamRequestsFor(path).at(-1)?.headers["x-user-sub"]).toBe("bob");
  }

  it("GET /oauth2/sign_out only shows a confirmation form that POSTs, and signs nobody out", async () => {
    const confirm = await page.goto(`${stack.origin}/oauth2/sign_out`);
    expect(confirm?.status()).toBe(200);
    const form = page.locator("form");
    expect(await form.getAttribute("method")).toBe("post");
    expect(await form.getAttribute("action")).toBe("/oauth2/sign_out");
    expect(await page.locator("form button[type=submit]").count()).toBe(1);
    await stillSignedIn();
  });

  it("refuses a POST without a trusted Origin with 403 and keeps the session", async () => {
    const before = await sessionCookie(context);
    const variants: Record<string, string>[] = [{ origin: "https://evil.example" }, { origin: "null" }, {}];
    for (const headers of variants) {
      const res = await context.request.post(`${stack.origin}/oauth2/sign_out`, {
        headers,
        form: { x: "1" },
        maxRedirects: 0,
      });
      expect(res.status()).toBe(403);
      expect(res.headers()["set-cookie"]).toBeUndefined();
    }
    expect(await sessionCookie(context)).toBe(before);
    await stillSignedIn();
  });

  it("refuses a POST whose rd leaves the site with 400 and keeps the session", async () => {
    for (const rd of [
      "//evil.example",
      "/\\evil.example",
      "https:evil.example",
      "https://user@evil.example",
      "https://evil.example/",
    ]) {
      const res = await context.request.post(`${stack.origin}/oauth2/sign_out`, {
        headers: { origin: stack.origin },
        form: { rd },
        maxRedirects: 0,
      });
      expect(res.status()).toBe(400);
      expect(res.headers().location).toBeUndefined();
    }
    await stillSignedIn();
  });

  it(
    "the sign-out page's button ends the session at Portcullis and at the IdP (its CSP lets the redirect through), and the next visit asks for a login",
    async () => {
      await stillSignedIn();
      const endSessions = stack.idp().counts.endSession;
      await page.goto(`${stack.origin}/oauth2/sign_out`);
      const signOut = page.waitForResponse(
        (res) => new URL(res.url()).pathname === "/oauth2/sign_out" && res.request().method() === "POST",
      );
      await page.locator("form button[type=submit]").click();
      const answer = await signOut;
      expect(answer.status()).toBe(302);
      const location = new URL(String(await answer.headerValue("location")));
      expect(`${location.origin}${location.pathname}`).toBe(stack.idp().endSessionEndpoint);
      // The ID token stays out of the URL (logout.idTokenHint is off for a plain OIDC provider).
      expect(location.searchParams.get("id_token_hint")).toBeNull();
      expect(location.searchParams.get("client_id")).toBeTruthy();
      expect(location.searchParams.get("post_logout_redirect_uri")).toBe(`${stack.origin}/`);
      const cleared = (await answer.headersArray())
        .filter((h) => h.name.toLowerCase() === "set-cookie")
        .map((h) => parseSetCookie(h.value))
        .find((c) => c.name === SESSION_COOKIE);
      expect(cleared?.attributes.get("max-age")).toBe("0");

      // Without id_token_hint the IdP asks the user to confirm; it then signs out, returns to the
      // site's root, which has no session any more and sends the browser to a login the IdP asks for.
      await page.locator("#logout-yes").click({ timeout: 20_000 });
      await page.waitForURL(
        (url) => url.origin === new URL(stack.issuer).origin && url.pathname.startsWith("/interaction/"),
        { timeout: 20_000 },
      );
      await expect(page.locator("#login-form").isVisible()).resolves.toBe(true);
      expect(stack.idp().counts.endSession).toBe(endSessions + 1);
      expect(await sessionCookie(context)).toBeUndefined();

      // Not straight back: the protected page again leads to the IdP's login page.
      const visit = page.waitForResponse((res) => res.url() === `${stack.origin}${path}`);
      await page.goto(`${stack.origin}${path}`);
      expect((await visit).status()).toBe(302);
      await expect(page.locator("#login-form").isVisible()).resolves.toBe(true);
    },
    TEST_TIMEOUT,
  );
});

// Last in the file (vitest keeps the order): the sessions logged in before every other test.
describe("an access token near its end", () => {
  it(
    "is refreshed once for ten parallel requests from the page, all answered 200, and the resealed cookie reaches the browser",
    async () => {
      const { context, page, path, landedAt } = nearEnd;
      const before = await sessionCookie(context);
      expect(before).toBeDefined();
      // Into the window: issued before landedAt, the token has at most REFRESH_WINDOW_SECONDS - 1
      // seconds left by then (the step-up and sign-out tests take about as long, so this rarely
      // waits). Whether it has expired already or not, one refresh must serve all ten.
      await sleep(landedAt + (ACCESS_TOKEN_TTL_SECONDS - REFRESH_WINDOW_SECONDS + 1) * 1000 - Date.now());
      const okBefore = await stack.metric("portcullis_session_refreshes_total", { result: "ok" });
      const grantsBefore = refreshGrants();
      const answers = await page.evaluate(async () =>
        Promise.all(
          Array.from({ length: 10 }, async (_, i) => {
            const res = await fetch(`/api/items?i=${i}`, { headers: { accept: "application/json" } });
            const body = (await res.json()) as { headers: Record<string, string> };
            return { status: res.status, sub: body.headers["x-user-sub"] };
          }),
        ),
      );
      expect(answers).toEqual(Array.from({ length: 10 }, () => ({ status: 200, sub: "alice" })));
      // One rotating refresh token, used exactly once at the IdP.
      expect(refreshGrants()).toBe(grantsBefore + 1);
      // Counted as one refresh, not as the ten requests that shared it.
      expect(await stack.metric("portcullis_session_refreshes_total", { result: "ok" })).toBe(okBefore + 1);
      // The refreshed session came back through the allowed responses (response_headers_to_add).
      const refreshed = await sessionCookie(context);
      expect(refreshed).toBeDefined();
      expect(refreshed).not.toBe(before);

      // The new cookie carries the new tokens: the next requests need no refresh.
      const next = await page.evaluate(
        async () => (await fetch("/api/items?after=1", { headers: { accept: "application/json" } })).status,
      );
      expect(next).toBe(200);
      expect((await page.reload())?.status()).toBe(200);
      expect(refreshGrants()).toBe(grantsBefore + 1);
      expect(upstreamRequestsFor(path).at(-1)?.headers["x-user-sub"]).toBe("alice");
    },
    TEST_TIMEOUT,
  );
});

describe("an access token past its end", () => {
  it(
    "is refreshed on the next page load, which loads without a login and with a new cookie",
    async () => {
      const { context, page, landedAt } = pastEnd;
      // Issued before landedAt, the token has expired one second after landedAt + its lifetime;
      // the page made no request since the first test, well inside the lifetime.
      await sleep(landedAt + (ACCESS_TOKEN_TTL_SECONDS + 1) * 1000 - Date.now());
      const before = await sessionCookie(context);
      const grantsBefore = refreshGrants();
      const codeExchanges = stack.idp().counts.tokenByGrant.authorization_code;
      const authorizations = stack.idp().counts.authorization;
      const res = await page.goto(`${stack.origin}/late?again=1`);
      expect(res?.status()).toBe(200);
      expect(page.url()).toBe(`${stack.origin}/late?again=1`);
      expect(upstreamRequestsFor("/late?again=1").at(-1)?.headers["x-user-sub"]).toBe("alice");
      expect(refreshGrants()).toBe(grantsBefore + 1);
      expect(stack.idp().counts.tokenByGrant.authorization_code).toBe(codeExchanges);
      expect(stack.idp().counts.authorization).toBe(authorizations);
      expect(await sessionCookie(context)).not.toBe(before);
    },
    TEST_TIMEOUT,
  );
});
