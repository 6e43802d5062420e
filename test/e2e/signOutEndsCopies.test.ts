// Sign-out means signed out, through the real Envoy, Portcullis, the dev IdP and Chromium, for
// both session stores: a copy of the session cookie taken after the login (as a thief would, from
// the browser's jar) works until the browser signs out, and is refused after it: 401 for an API
// client, a 302 to the IdP for a browser. With `session.store: cookie` the session is sealed in the
// cookie itself, so only the revocation list (the session's id, kept until the session would have
// expired) stops the copy; with `redis` the stored session is deleted as well.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";
import { useLoginStackWithStore } from "../harness/useLoginStackWithStore.ts";
import { loadScaledMs } from "../harness/loadScaledMs.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const SESSION_COOKIE = "__Host-portcullis";
const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;

describe.runIf(hasEnvoy).each(["cookie", "redis"] as const)("sign-out with session.store %s", (store) => {
  const started = useLoginStackWithStore(store);
  let stack: Stack;
  let browser: StartedBrowser;
  beforeAll(() => void ({ stack, browser } = started()));

  it("refuses a copy of the session cookie taken before the sign-out: 401 for an API client, a 302 to the IdP for a browser", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/account", { user: "bob", secondFactor: false });
      const copy = (await context.cookies(stack.origin))
        .filter((c) => c.name === SESSION_COOKIE || c.name.startsWith(`${SESSION_COOKIE}.`))
        .map((c) => `${c.name}=${c.value}`)
        .join("; ");
      expect(copy).not.toBe("");
      // The copy works like the browser's own cookie while the session lasts.
      const before = await stack.request("/account", { headers: { cookie: copy } });
      expect(before.status).toBe(200);

      const signOut = await context.request.post(`${stack.origin}/oauth2/sign_out`, {
        headers: { origin: stack.origin },
        form: { x: "1" },
        maxRedirects: 0,
      });
      expect(signOut.status()).toBe(302);

      const api = await stack.request("/account", { headers: { cookie: copy } });
      expect(api.status).toBe(401);
      const navigation = await stack.request("/account", { headers: { cookie: copy, accept: "text/html" } });
      expect(navigation.status).toBe(302);
      expect(new URL(String(navigation.headers["location"])).origin).toBe(new URL(stack.issuer).origin);
      // A new login is a new session: the user can come back.
      const again = await browser.newContext();
      try {
        await loginThroughStack(await again.newPage(), stack.origin, "/account", { user: "bob", secondFactor: false });
      } finally {
        await again.close();
      }
    } finally {
      await context.close();
    }
  }, 90_000);
});

describe.runIf(hasEnvoy)("sign-out with session.store redis while Redis is frozen", () => {
  let redis: TestRedis | null = null;
  let stack: Stack;
  let browser: StartedBrowser;
  let running: StackWithBrowser<Stack> | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    const { url } = redis;
    running = await startWithBrowser(() =>
      startStack({ login: true, session: { store: "redis" }, config: { redis: { url } } }),
    );
    ({ stack, browser } = running);
  }, 120_000);

  afterAll(async () => {
    redis?.resume();
    await running?.close();
    await redis?.close();
  });

  it("answers 503 without clearing the cookie to a sign-out while Redis is frozen, refuses the copy once Redis is back, and a retried sign-out completes", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/account", { user: "bob", secondFactor: false });
      const sessionCookies = async () =>
        (await context.cookies(stack.origin)).filter(
          (c) => c.name === SESSION_COOKIE || c.name.startsWith(`${SESSION_COOKIE}.`),
        );
      const copy = (await sessionCookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      expect((await stack.request("/account", { headers: { cookie: copy } })).status).toBe(200);

      redis?.pause();
      let status: number;
      let headers: Record<string, string>;
      let body: string;
      try {
        const signOut = await context.request.post(`${stack.origin}/oauth2/sign_out`, {
          headers: { origin: stack.origin },
          form: { x: "1" },
          maxRedirects: 0,
          timeout: 30_000,
        });
        status = signOut.status();
        headers = signOut.headers();
        body = await signOut.text();
      } finally {
        redis?.resume();
      }
      expect(status).toBe(503);
      expect(headers["cache-control"]).toBe("no-store");
      expect(headers["content-type"]).toMatch(/^text\/html/);
      expect(headers["set-cookie"]).toBeUndefined();
      expect(body).toContain("could not sign you out right now");
      // The browser still holds its session, so the user can retry.
      expect((await sessionCookies()).map((c) => `${c.name}=${c.value}`).join("; ")).toBe(copy);
      // Recorded on this replica from the cookie alone: the copy is refused as soon as Redis answers.
      const refused = async () => (await stack.request("/account", { headers: { cookie: copy } })).status === 401;
      expect(await waitUntil(refused, loadScaledMs(15_000))).toBe(true);

      const retry = await context.request.post(`${stack.origin}/oauth2/sign_out`, {
        headers: { origin: stack.origin },
        form: { x: "1" },
        maxRedirects: 0,
        timeout: 30_000,
      });
      expect(retry.status()).toBe(302);
      expect(await sessionCookies()).toEqual([]);
      expect((await stack.request("/account", { headers: { cookie: copy } })).status).toBe(401);
    } finally {
      redis?.resume();
      await context.close();
    }
  }, 120_000);
});
