// A logout done in Keycloak itself reaches Portcullis by back-channel (OpenID Connect Back-Channel
// Logout: Keycloak POSTs a signed logout token to the web client's backchannel logout URL, Portcullis's
// /oauth2/backchannel_logout on its auth listener) and ends the browser session there: an admin
// signing a user out ends every session of the user; an admin ending one Keycloak session ends only
// the browser session that came from it (the token's `sid`, "backchannel logout session required").

import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakRealm } from "../harness/keycloakAdmin.ts";
import { loginThroughKeycloak } from "../harness/loginThroughKeycloak.ts";
import { startBrowser } from "../harness/startBrowser.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import type { Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { ALICE, BOB } from "./portcullisRealm.ts";
import type { RealmUser } from "./portcullisRealm.ts";
import { PROVIDER, startKeycloakStack } from "./startKeycloakStack.ts";
import type { KeycloakStack } from "./startKeycloakStack.ts";

const SESSION_COOKIE = "__Host-portcullis";
const ROUTES = [{ name: "default", match: { path: "/" }, auth: "required" }];
/** Keycloak sends the logout token while the admin call runs; allow for a loaded machine. */
const LOGOUT_ARRIVAL_MS = 15_000;

let keycloakUrl: string;
let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;
let browser: StartedBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const keycloak = inject("keycloak");
  keycloakUrl = keycloak.url;
  const [stackStarted, launched] = await Promise.allSettled([
    startKeycloakStack(keycloak, { routes: ROUTES }),
    startBrowser({ actionTimeoutMs: 30_000 }),
  ]);
  if (stackStarted.status === "fulfilled") ({ stack, realm } = started = stackStarted.value);
  if (launched.status === "fulfilled") browser = launched.value;
  if (stackStarted.status === "rejected") throw stackStarted.reason;
  if (launched.status === "rejected") throw launched.reason;
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await started?.close();
});

interface SignedIn {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly path: string;
  /** The Keycloak session this login made. */
  readonly keycloakSession: string;
  /** The browser's Portcullis session cookies right after the login (a Keycloak session spans
   * several cookie chunks), as a Cookie header: later page loads may change the browser's jar. */
  readonly cookie: string;
}

/** A fresh browser signs `user` in on `path`; returns the Keycloak session the login made. */
async function signedIn(user: RealmUser, path: string): Promise<SignedIn> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const before = new Set((await realm.userSessions(user.username)).map((s) => s.id));
  await loginThroughKeycloak(page, stack.origin, keycloakUrl, path, user);
  const made = (await realm.userSessions(user.username)).map((s) => s.id).filter((id) => !before.has(id));
  expect(made).toHaveLength(1);
  const cookies = (await context.cookies(stack.origin)).filter((c) => c.name.startsWith(SESSION_COOKIE));
  expect(cookies.map((c) => c.name)).toContain(SESSION_COOKIE);
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  return { context, page, path, keycloakSession: made[0] as string, cookie };
}

/** An API call with the session's cookies: 200 while the session lives, 401 once it ended. */
async function apiStatus(session: SignedIn): Promise<number> {
  return (await stack.request(`${session.path}/data`, { headers: { cookie: session.cookie } })).status;
}

const logouts = (result: string) =>
  stack.metric("portcullis_backchannel_logouts_total", { provider: PROVIDER, result });

describe("a logout done in Keycloak", () => {
  it("by an admin signing the user out reaches Portcullis by back-channel and ends the user's browser session", async () => {
    const session = await signedIn(BOB, "/orders");
    expect(await apiStatus(session)).toBe(200);
    const accepted = await logouts("ok");

    await realm.logoutUser(BOB.username);

    expect(await waitUntil(async () => (await logouts("ok")) > accepted, LOGOUT_ARRIVAL_MS)).toBe(true);
    expect(await apiStatus(session)).toBe(401);
    // The browser's next page needs a new login: Portcullis sends it to Keycloak, whose session is
    // gone too, so Keycloak shows its login form.
    await session.page.goto(`${stack.origin}${session.path}`);
    await session.page.locator("#kc-form-login").waitFor({ state: "visible" });
    expect(new URL(session.page.url()).origin).toBe(keycloakUrl);
  });

  it("by an admin ending one Keycloak session ends only the browser session that came from it", async () => {
    const ended = await signedIn(ALICE, "/reports");
    const kept = await signedIn(ALICE, "/reports");
    expect([await apiStatus(ended), await apiStatus(kept)]).toEqual([200, 200]);
    const accepted = await logouts("ok");

    await realm.deleteSession(ended.keycloakSession);

    expect(await waitUntil(async () => (await logouts("ok")) > accepted, LOGOUT_ARRIVAL_MS)).toBe(true);
    expect(await apiStatus(ended)).toBe(401);
    expect(await apiStatus(kept)).toBe(200);
    expect((await kept.page.reload())?.status()).toBe(200);
  });
});
