// Incremental consent through the real Envoy, Portcullis and the dev IdP in Chromium: a session
// without a route's scope is sent back to the IdP for it and lands on the page it asked for with
// the scope; a scope the IdP does not grant ends on a 403 page after one round trip, never a loop.
// API callers keep 403 insufficient_scope; a form POST without a session is answered 401 (no login,
// no replay: docs/policy.md, "After a login").

import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOA_SECOND_FACTOR } from "../../src/demo/startDevIdp.ts";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { LOGIN_SCOPES, startStack, type Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

const SESSION_COOKIE = "__Host-portcullis";
const TEST_TIMEOUT = 60_000;

let stack: Stack;
let browser: StartedBrowser;
let running: StackWithBrowser<Stack> | undefined;

beforeAll(async () => {
  running = await startWithBrowser(() =>
    startStack({
      login: true,
      // api.admin is one the dev IdP does not know: it leaves it out of the grant.
      provider: { consentScopes: ["api.write", "api.admin"] },
      routes: [
        { name: "public", match: { path: "/public" }, auth: "public" },
        { name: "reports", match: { path: "/reports" }, auth: "required", require: { scopes: ["api.write"] } },
        {
          name: "audit",
          match: { path: "/audit" },
          auth: "required",
          require: { scopes: ["api.write"], acr: [LOA_SECOND_FACTOR] },
        },
        { name: "admin", match: { path: "/admin" }, auth: "required", require: { scopes: ["api.admin"] } },
        { name: "default", match: { path: "/" }, auth: "required" },
      ],
    }),
  );
  ({ stack, browser } = running);
});

afterAll(async () => {
  await running?.close();
});

/** A browser signed in with the stack's login scopes (api.read, not api.write). */
async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await loginThroughStack(page, stack.origin, "/hello", { user: "alice", secondFactor: false });
  return { context, page };
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(stack.origin)).find((c) => c.name === SESSION_COOKIE)?.value;
}

function contextScopesOf(path: string): unknown {
  const header = stack.upstream.requests().findLast((r) => r.path === path)?.headers["x-user-context"];
  return typeof header === "string" ? JSON.parse(Buffer.from(header, "base64").toString("utf8")).scopes : undefined;
}

/** The first answer to a navigation to `target` (the 302 that leaves for the IdP). */
function firstAnswerTo(page: Page, target: string) {
  return page.waitForResponse((res) => res.url() === target && res.request().isNavigationRequest());
}

describe("incremental consent for a browser session", () => {
  it(
    "sends a session without the route's scope to the IdP for it and lands on the page with the scope",
    async () => {
      const { context, page } = await signedIn();
      try {
        const before = await sessionCookie(context);
        // An API call with the same session is told which scope it lacks, not redirected.
        const api = await stack.request("/reports/q1", { headers: { cookie: `${SESSION_COOKIE}=${before}` } });
        expect(api.status).toBe(403);
        expect(String(api.headers["www-authenticate"])).toMatch(/error="insufficient_scope".*scope="api\.write"/);
        expect(api.headers.location).toBeUndefined();

        const path = "/reports/q1?year=2026";
        const target = `${stack.origin}${path}`;
        const authorizations = stack.idp().counts.authorization;
        const started = await stack.metric("portcullis_logins_total", { result: "started", reason: "consent" });
        const first = firstAnswerTo(page, target);
        await page.goto(target);
        const consent = await first;
        expect(consent.status()).toBe(302);
        const location = new URL(String(await consent.headerValue("location")));
        expect(`${location.origin}${location.pathname}`).toBe(stack.idp().authorizationEndpoint);
        const asked = String(location.searchParams.get("scope")).split(" ");
        expect(asked).toEqual(expect.arrayContaining([...LOGIN_SCOPES, "api.write"]));
        expect(new Set(asked).size).toBe(asked.length);
        expect(location.searchParams.has("prompt")).toBe(false);

        // The IdP knows the person and grants the scope without a screen: back on the page.
        await page.waitForURL((url) => url.href === target);
        expect(stack.upstream.requests().filter((r) => r.path === path)).toHaveLength(1);
        expect(contextScopesOf(path)).toEqual(expect.arrayContaining(["api.read", "api.write"]));
        expect(await sessionCookie(context)).not.toBe(before);
        expect(stack.idp().counts.authorization).toBe(authorizations + 1);
        expect(await stack.metric("portcullis_logins_total", { result: "started", reason: "consent" })).toBe(
          started + 1,
        );
        expect((await page.reload())?.status()).toBe(200);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "answers a 403 page after one round trip when the IdP does not grant the scope, and keeps the session",
    async () => {
      const { context, page } = await signedIn();
      try {
        const before = await sessionCookie(context);
        const authorizations = stack.idp().counts.authorization;
        const failed = await stack.metric("portcullis_logins_total", {
          result: "failed",
          reason: "scope_not_granted",
        });
        const answer = await page.goto(`${stack.origin}/admin/users`);
        expect(answer?.status()).toBe(403);
        expect(new URL(page.url()).pathname).toBe("/oauth2/callback");
        await expect(page.textContent("body")).resolves.toContain(
          "The identity provider did not grant the permission this page needs.",
        );
        expect(stack.idp().counts.authorization).toBe(authorizations + 1);
        expect(await stack.metric("portcullis_logins_total", { result: "failed", reason: "scope_not_granted" })).toBe(
          failed + 1,
        );
        expect(stack.upstream.requests().filter((r) => r.path === "/admin/users")).toEqual([]);
        expect(await sessionCookie(context)).toBe(before);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "asks for the scope and the second factor in one round trip",
    async () => {
      const { context, page } = await signedIn();
      try {
        const target = `${stack.origin}/audit`;
        const authorizations = stack.idp().counts.authorization;
        const first = firstAnswerTo(page, target);
        await page.goto(target);
        const location = new URL(String(await (await first).headerValue("location")));
        expect(location.searchParams.get("scope")?.split(" ")).toContain("api.write");
        expect(location.searchParams.get("acr_values")).toBe(LOA_SECOND_FACTOR);
        expect(location.searchParams.get("prompt")).toBe("login");
        await loginInBrowser(page, { user: "alice", secondFactor: true });
        await page.waitForURL((url) => url.href === target);
        expect(contextScopesOf("/audit")).toEqual(expect.arrayContaining(["api.write"]));
        expect(stack.idp().counts.authorization).toBe(authorizations + 1);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});

describe("a form POST without a session", () => {
  it(
    "is answered 401 where it was posted, with no redirect to the IdP and nothing upstream",
    async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        expect((await page.goto(`${stack.origin}/public/form`))?.status()).toBe(200);
        const posted = page.waitForResponse((res) => res.request().method() === "POST");
        // A plain HTML form on the page, submitted as a person would (a top-level navigation POST).
        await page.evaluate(`(() => {
          const form = document.createElement("form");
          form.method = "POST";
          form.action = "/reports/submit";
          const field = document.createElement("input");
          field.name = "amount";
          field.value = "12";
          form.append(field);
          document.body.append(form);
          form.submit();
        })()`);
        const answer = await posted;
        expect(answer.status()).toBe(401);
        expect(await answer.headerValue("location")).toBeNull();
        expect(await answer.headerValue("content-type")).toMatch(/^application\/json/);
        expect(new URL(answer.url()).pathname).toBe("/reports/submit");
        expect(stack.upstream.requests().filter((r) => r.path === "/reports/submit")).toEqual([]);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});
