// A step-up ends the session it replaces, through the real Envoy, Portcullis, the dev IdP and
// Chromium, for both session stores: a copy of the password-only session cookie (taken from the
// browser's jar, as a thief would) works until the browser steps up to the second factor, and is
// refused after it (401 for an API client, a 302 to the IdP for a page), while the browser's new
// session is let through. With `session.store: cookie` the old id is revoked; with `redis` the old
// record is deleted in the same write as the new one. Counted in portcullis_sessions_ended_total.
import type { BrowserContext } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import type { Stack } from "../harness/startStack.ts";
import { useLoginStackWithStore } from "../harness/useLoginStackWithStore.ts";

const SESSION_COOKIE = "__Host-portcullis";
const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;

/** The session cookies in the browser's jar, as a Cookie header. */
async function sessionCookieOf(context: BrowserContext, origin: string): Promise<string> {
  return (await context.cookies(origin))
    .filter((c) => c.name === SESSION_COOKIE || c.name.startsWith(`${SESSION_COOKIE}.`))
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
}

describe.runIf(hasEnvoy).each(["cookie", "redis"] as const)("a step-up with session.store %s", (store) => {
  const started = useLoginStackWithStore(store);
  let stack: Stack;
  let browser: StartedBrowser;
  beforeAll(() => void ({ stack, browser } = started()));

  it("refuses a copy of the password-only session cookie after the step-up: 401 for an API client, a 302 to the IdP for a page; the stepped-up session is let through", async () => {
    const replaced = { provider: "demo", reason: "replaced" };
    const endedBefore = await stack.metric("portcullis_sessions_ended_total", replaced);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/account", { user: "bob", secondFactor: false });
      const copy = await sessionCookieOf(context, stack.origin);
      expect(copy).not.toBe("");
      expect((await stack.request("/account", { headers: { cookie: copy } })).status).toBe(200);

      // The route asks for the second factor: the browser goes back to the IdP and steps up.
      const target = `${stack.origin}/secure/page`;
      const stepUp = page.waitForResponse((res) => res.url() === target && res.request().isNavigationRequest());
      await page.goto(target);
      expect((await stepUp).status()).toBe(302);
      await loginInBrowser(page, { user: "bob", secondFactor: true });
      await page.waitForURL((url) => url.href === target, { waitUntil: "domcontentloaded" });
      const stepped = await sessionCookieOf(context, stack.origin);
      expect(stepped).not.toBe(copy);

      const api = await stack.request("/account", { headers: { cookie: copy } });
      expect(api.status).toBe(401);
      const navigation = await stack.request("/account", { headers: { cookie: copy, accept: "text/html" } });
      expect(navigation.status).toBe(302);
      expect(new URL(String(navigation.headers["location"])).origin).toBe(new URL(stack.issuer).origin);
      expect((await stack.request("/secure/data", { headers: { cookie: stepped } })).status).toBe(200);
      expect((await page.reload())?.status()).toBe(200);
      expect(await stack.metric("portcullis_sessions_ended_total", replaced)).toBe(endedBefore + 1);
    } finally {
      await context.close();
    }
  }, 90_000);
});
