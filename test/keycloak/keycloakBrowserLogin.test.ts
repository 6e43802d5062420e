// Browser sessions against a live Keycloak, in Chromium through the real Envoy and Portcullis:
// login on Keycloak's own page (PKCE S256, which the realm's web client requires), the identity the
// upstream gets, step-up to Keycloak's one-time-code level (acr_values, its level-of-authentication
// flow), RP-initiated logout through Keycloak's end-session endpoint, and a transparent refresh of
// Keycloak's 60 s access token. The refreshing session logs in first and is used last, so its
// token ages while the other tests run.

import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { EchoedRequest } from "../../src/demo/startEchoUpstream.ts";
import type { KeycloakRealm } from "../harness/keycloakAdmin.ts";
import { loginAtKeycloak } from "../harness/loginAtKeycloak.ts";
import { loginThroughKeycloak } from "../harness/loginThroughKeycloak.ts";
import { startBrowser } from "../harness/startBrowser.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import type { Stack } from "../harness/startStack.ts";
import { ACR_SECOND_FACTOR, ALICE, BOB, WEB_CLIENT } from "./portcullisRealm.ts";
import type { RealmUser } from "./portcullisRealm.ts";
import { PROVIDER, startKeycloakStack } from "./startKeycloakStack.ts";
import type { KeycloakStack } from "./startKeycloakStack.ts";

const SESSION_COOKIE = "__Host-portcullis";
/** The realm's access-token lifespan; Portcullis refreshes no earlier than half of it. */
const ACCESS_TOKEN_SECONDS = 60;

const ROUTES = [
  { name: "secure", match: { path: "/secure" }, auth: "required", require: { acr: [ACR_SECOND_FACTOR] } },
  { name: "editor", match: { path: "/editor" }, auth: "required", require: { roles: ["editor"] } },
  { name: "default", match: { path: "/" }, auth: "required" },
];

let keycloakUrl: string;
let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;
let browser: StartedBrowser;
/** Logged in first, left alone until its access token is past half its life. */
let aging: { context: BrowserContext; page: Page; path: string; landedAt: number };

beforeAll(async () => {
  const keycloak = inject("keycloak");
  keycloakUrl = keycloak.url;
  const [stackStarted, launched] = await Promise.allSettled([
    startKeycloakStack(keycloak, { routes: ROUTES, session: { refreshWindowSeconds: ACCESS_TOKEN_SECONDS / 2 } }),
    startBrowser({ actionTimeoutMs: 30_000 }),
  ]);
  if (stackStarted.status === "fulfilled") ({ stack, realm } = started = stackStarted.value);
  if (launched.status === "fulfilled") browser = launched.value;
  if (stackStarted.status === "rejected") throw stackStarted.reason;
  if (launched.status === "rejected") throw launched.reason;
  const { context, page } = await freshPage();
  const path = "/aging";
  await signIn(page, path, ALICE);
  aging = { context, page, path, landedAt: Date.now() };
});

afterAll(async () => {
  await aging?.context.close();
  await browser?.close();
  await started?.close();
});

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

/** Opens `path` without a Portcullis session, logs in at Keycloak and waits to be back on `path`. */
const signIn = (page: Page, path: string, user: RealmUser) =>
  loginThroughKeycloak(page, stack.origin, keycloakUrl, path, user);

function upstreamRequestsFor(path: string): EchoedRequest[] {
  return stack.upstream.requests().filter((r) => r.path === path);
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(stack.origin)).find((c) => c.name === SESSION_COOKIE)?.value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe("browser login at Keycloak", () => {
  it("sends the browser to Keycloak's authorization endpoint with PKCE S256, and after the password back to the page with the user's identity", async () => {
    const { context, page } = await freshPage();
    try {
      const path = "/hello?tab=1";
      const authorization = page.waitForRequest((req) =>
        req.url().startsWith(`${realm.issuer}/protocol/openid-connect/auth?`),
      );
      const steps = await signIn(page, path, ALICE);
      const query = new URL((await authorization).url()).searchParams;
      expect(query.get("client_id")).toBe(WEB_CLIENT.clientId);
      expect(query.get("code_challenge_method")).toBe("S256");
      expect(query.get("redirect_uri")).toBe(`${stack.origin}/oauth2/callback`);
      expect(steps).toMatchObject({ passwordAsked: true, otpAsked: false });

      const arrived = upstreamRequestsFor(path);
      expect(arrived).toHaveLength(1);
      const headers = arrived[0]?.headers ?? {};
      expect(headers["x-user-sub"]).toBe(await realm.userId(ALICE.username));
      expect(headers["x-user-email"]).toBe("alice@example.com");
      expect(String(headers["x-user-roles"]).split(",")).toEqual(expect.arrayContaining(["admin", "editor"]));
      expect(await sessionCookie(context)).toBeDefined();

      // The web client's role from Keycloak's access token opens a role-gated route in the same session.
      expect((await page.goto(`${stack.origin}/editor/draft`))?.status()).toBe(200);
    } finally {
      await context.close();
    }
  });

  it("refuses bob on the route that needs the web client's role editor, after his Keycloak login", async () => {
    const { context, page } = await freshPage();
    try {
      await signIn(page, "/start", BOB);
      expect((await page.goto(`${stack.origin}/editor/draft`))?.status()).toBe(403);
      expect(
        upstreamRequestsFor("/editor/draft").filter((r) => r.headers["x-user-email"] === "bob@example.com"),
      ).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("step-up at Keycloak", () => {
  it("sends a password-level session back to Keycloak with acr_values and prompt=login, where the one-time code gets it through", async () => {
    const { context, page } = await freshPage();
    try {
      await signIn(page, "/before", ALICE);
      const weakSession = await sessionCookie(context);
      const path = "/secure/keys?k=1";
      const target = `${stack.origin}${path}`;
      const stepUp = page.waitForResponse((res) => res.url() === target);
      await page.goto(target);
      const redirect = await stepUp;
      expect(redirect.status()).toBe(302);
      const location = new URL(String(await redirect.headerValue("location")));
      expect(`${location.origin}${location.pathname}`).toBe(`${realm.issuer}/protocol/openid-connect/auth`);
      expect(location.searchParams.get("acr_values")).toBe(ACR_SECOND_FACTOR);
      expect(location.searchParams.get("prompt")).toBe("login");
      expect(upstreamRequestsFor(path)).toEqual([]);

      const steps = await loginAtKeycloak(page, keycloakUrl, ALICE);
      expect(steps.otpAsked).toBe(true);
      await page.waitForURL((url) => url.href === target, { waitUntil: "domcontentloaded" });
      const arrived = upstreamRequestsFor(path);
      expect(arrived).toHaveLength(1);
      expect(arrived[0]?.headers["x-user-sub"]).toBe(await realm.userId(ALICE.username));
      expect(await sessionCookie(context)).not.toBe(weakSession);
      expect((await page.reload())?.status()).toBe(200);
    } finally {
      await context.close();
    }
  });
});

describe("sign-out", () => {
  it("ends the session at Keycloak too, through its end-session endpoint, and lands back on the site, which asks for a new login", async () => {
    const { context, page } = await freshPage();
    try {
      const earlier = new Set((await realm.userSessions(BOB.username)).map((s) => s.id));
      await signIn(page, "/account", BOB);
      const ours = (await realm.userSessions(BOB.username)).map((s) => s.id).filter((id) => !earlier.has(id));
      expect(ours).toHaveLength(1);

      const endSession = page.waitForRequest((req) =>
        req.url().startsWith(`${realm.issuer}/protocol/openid-connect/logout?`),
      );
      await page.goto(`${stack.origin}/oauth2/sign_out`);
      await page.locator("form button[type=submit]").click();
      const query = new URL((await endSession).url()).searchParams;
      expect(query.get("id_token_hint")).toBeTruthy();
      expect(query.get("post_logout_redirect_uri")).toBe(`${stack.origin}/`);

      // Back on the site without a session: Portcullis sends the browser to Keycloak, which no
      // longer has one either, so it shows its login form instead of signing bob straight back in.
      await page.locator("#kc-form-login").waitFor({ state: "visible" });
      expect(new URL(page.url()).origin).toBe(keycloakUrl);
      expect(await sessionCookie(context)).toBeUndefined();
      expect((await realm.userSessions(BOB.username)).map((s) => s.id)).not.toContain(ours[0]);
    } finally {
      await context.close();
    }
  });
});

describe("a session whose Keycloak access token is past half its life", () => {
  it("is refreshed at Keycloak's token endpoint on the next request, without a new login, and the new cookie reaches the browser", async () => {
    const { context, page, path, landedAt } = aging;
    const before = await sessionCookie(context);
    const refreshes = await stack.metric("portcullis_session_refreshes_total", { provider: PROVIDER, result: "ok" });
    const keycloakSessions = (await realm.userSessions(ALICE.username)).length;
    await sleep(landedAt + (ACCESS_TOKEN_SECONDS / 2 + 2) * 1000 - Date.now());

    const res = await page.reload();
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).origin).toBe(stack.origin);
    expect(await stack.metric("portcullis_session_refreshes_total", { provider: PROVIDER, result: "ok" })).toBe(
      refreshes + 1,
    );
    expect(await sessionCookie(context)).not.toBe(before);
    expect(upstreamRequestsFor(path).at(-1)?.headers["x-user-sub"]).toBe(await realm.userId(ALICE.username));
    // A refresh, not a second login: Keycloak has no new session for alice.
    expect(await realm.userSessions(ALICE.username)).toHaveLength(keycloakSessions);
  });
});
