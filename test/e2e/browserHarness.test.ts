// A real Chromium (Debian's, through the harness) against the dev IdP alone, without Portcullis:
// the authorization-code flow with PKCE ends at a loopback redirect_uri this test serves, and the
// code's tokens say how the user logged in. Also step-up, Cancel, a wrong password, refresh-token
// rotation and RP-initiated logout, so the browser tests of Portcullis can rely on all of them.

import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import type { JWTPayload } from "jose";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { DEMO_WEB_CLIENT_ID, LOA_PASSWORD, LOA_SECOND_FACTOR, startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { startBrowser } from "../harness/startBrowser.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

let idp: DevIdp;
let browser: StartedBrowser;
let running: StackWithBrowser<DevIdp> | undefined;
let relyingParty: Server;
let rpOrigin: string;
/** Every request the loopback relying party received, newest last. */
const arrivals: URL[] = [];

beforeAll(async () => {
  relyingParty = createServer((req, res) => {
    arrivals.push(new URL(req.url ?? "/", rpOrigin));
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8" })
      .end("<!DOCTYPE html><title>relying party</title><p>back at the client</p>");
  });
  await new Promise<void>((resolve) => relyingParty.listen(0, "127.0.0.1", resolve));
  rpOrigin = `http://127.0.0.1:${(relyingParty.address() as AddressInfo).port}`;
  const signingKey = await createSigningJwk();
  running = await startWithBrowser(() =>
    startDevIdp({
      signingKeys: [signingKey],
      webRedirectUris: [`${rpOrigin}/callback`],
      webPostLogoutRedirectUris: [`${rpOrigin}/signed-out`],
    }),
  );
  ({ stack: idp, browser } = running);
});

afterAll(async () => {
  await running?.close();
  relyingParty?.closeAllConnections();
  await new Promise((resolve) => relyingParty?.close(resolve));
});

interface Authorization {
  readonly url: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** A fresh authorization request of demo-web: PKCE S256, state, nonce, the API scope. */
function authorization(extra: Record<string, string> = {}): Authorization {
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  const url = new URL(idp.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: DEMO_WEB_CLIENT_ID,
    response_type: "code",
    redirect_uri: `${rpOrigin}/callback`,
    scope: "openid profile email api.read",
    state,
    nonce,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  }).toString();
  return { url: url.href, state, nonce, verifier };
}

/** One authorization request made on first use (after beforeAll has started the IdP), shared by a describe's tests. */
function authorizationLater(): () => Authorization {
  let made: Authorization | undefined;
  return () => (made ??= authorization());
}

/** The query the relying party got for `state` (the browser has landed there). */
function callbackFor(state: string): URLSearchParams {
  const arrival = arrivals.find((url) => url.pathname === "/callback" && url.searchParams.get("state") === state);
  if (arrival === undefined) throw new Error(`no callback arrived with state ${state}`);
  return arrival.searchParams;
}

async function tokenRequest(
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(idp.tokenEndpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${idp.webClient.id}:${idp.webClient.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface Tokens {
  readonly idToken: JWTPayload;
  readonly idTokenRaw: string;
  readonly accessToken: JWTPayload;
  readonly refreshToken: string;
}

/** Exchanges the code that arrived for `auth` and verifies the ID token's signature, iss, aud and nonce. */
async function exchange(auth: Authorization): Promise<Tokens> {
  const code = callbackFor(auth.state).get("code");
  expect(code).toBeTruthy();
  const res = await tokenRequest({
    grant_type: "authorization_code",
    code: code as string,
    redirect_uri: `${rpOrigin}/callback`,
    code_verifier: auth.verifier,
  });
  expect(res.status).toBe(200);
  const idTokenRaw = String(res.body.id_token);
  const { payload } = await jwtVerify(idTokenRaw, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), {
    issuer: idp.issuer,
    audience: DEMO_WEB_CLIENT_ID,
  });
  expect(payload.nonce).toBe(auth.nonce);
  expect(typeof res.body.refresh_token).toBe("string");
  return {
    idToken: payload,
    idTokenRaw,
    accessToken: decodeJwt(String(res.body.access_token)),
    refreshToken: String(res.body.refresh_token),
  };
}

/** A new browser profile (no IdP session yet) with one page. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

describe("a browser login at the dev IdP", () => {
  let context: BrowserContext;
  let page: Page;
  let tokens: Tokens;

  beforeAll(async () => {
    ({ context, page } = await freshPage());
  });
  afterAll(() => context?.close());

  it("with the second factor lands on the redirect_uri with a code whose ID token says LOA 2, pwd and otp", async () => {
    idp.resetCounts();
    const auth = authorization();
    await page.goto(auth.url);
    expect(await page.locator("body").textContent()).toMatch(/password is the user name/);
    const landed = new URL(await loginInBrowser(page, { user: "alice", secondFactor: true }));
    expect(`${landed.origin}${landed.pathname}`).toBe(`${rpOrigin}/callback`);
    expect(callbackFor(auth.state).get("iss")).toBe(idp.issuer);
    tokens = await exchange(auth);
    expect(tokens.idToken).toMatchObject({
      sub: "alice",
      acr: LOA_SECOND_FACTOR,
      amr: ["pwd", "otp"],
      email: "alice@example.com",
    });
    expect(tokens.idToken.auth_time).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(tokens.accessToken).toMatchObject({
      sub: "alice",
      aud: idp.audience,
      acr: LOA_SECOND_FACTOR,
      amr: ["pwd", "otp"],
      roles: ["admin", "user"],
    });
    expect(idp.counts.authorization).toBe(1);
    expect(idp.counts.tokenByGrant.authorization_code).toBe(1);
  });

  it("rotates the refresh token on use: the new one works once, the old one is refused", async () => {
    const first = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(tokens.refreshToken);
    expect(decodeJwt(String(first.body.id_token))).toMatchObject({
      sub: "alice",
      acr: LOA_SECOND_FACTOR,
      amr: ["pwd", "otp"],
    });
    const replay = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refreshToken });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
    expect(idp.counts.tokenByGrant.refresh_token).toBe(2);
  });

  it("answers a second authorization of the same browser without a login page, LOA 2 meeting a request for LOA 1", async () => {
    const auth = authorization({ acr_values: LOA_PASSWORD });
    await page.goto(auth.url);
    await page.waitForURL((url) => url.origin === rpOrigin);
    expect((await exchange(auth)).idToken).toMatchObject({ sub: "alice", acr: LOA_SECOND_FACTOR });
  });

  it("asks for the password again on prompt=login, and the new login's acr replaces the old one", async () => {
    const auth = authorization({ prompt: "login" });
    await page.goto(auth.url);
    await loginInBrowser(page, { user: "alice", secondFactor: false });
    const relogin = await exchange(auth);
    expect(relogin.idToken).toMatchObject({ sub: "alice", acr: LOA_PASSWORD, amr: ["pwd"] });
    expect(relogin.idToken.auth_time).toBeGreaterThanOrEqual(tokens.idToken.auth_time as number);
    tokens = relogin;
  });

  it("signs out at the end_session_endpoint with id_token_hint, back to the post_logout_redirect_uri, and asks for a login again", async () => {
    const before = idp.counts.endSession;
    const logout = new URL(idp.endSessionEndpoint);
    logout.search = new URLSearchParams({
      id_token_hint: tokens.idTokenRaw,
      post_logout_redirect_uri: `${rpOrigin}/signed-out`,
      state: "bye",
    }).toString();
    await page.goto(logout.href);
    await page.waitForURL((url) => url.origin === rpOrigin && url.pathname === "/signed-out");
    expect(new URL(page.url()).searchParams.get("state")).toBe("bye");
    expect(idp.counts.endSession).toBe(before + 1);
    await page.goto(authorization().url);
    await expect(page.locator("#login-form").isVisible()).resolves.toBe(true);
    // The refresh token died with the IdP session (no offline_access was asked for).
    const refresh = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refreshToken });
    expect(refresh.body.error).toBe("invalid_grant");
  });
});

describe("step-up at the dev IdP, then a logout without id_token_hint", () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    ({ context, page } = await freshPage());
  });
  afterAll(() => context?.close());

  it("logs in with a password alone at LOA 1, then asks again with the second factor required when acr_values wants LOA 2", async () => {
    const weak = authorization();
    await page.goto(weak.url);
    await loginInBrowser(page, { user: "bob" });
    expect((await exchange(weak)).idToken).toMatchObject({ sub: "bob", acr: LOA_PASSWORD, amr: ["pwd"] });

    const strong = authorization({ acr_values: LOA_SECOND_FACTOR });
    await page.goto(strong.url);
    await expect(page.locator("#step-up-notice").isVisible()).resolves.toBe(true);
    await expect(page.locator("#login").inputValue()).resolves.toBe("bob");
    const box = page.locator("#second-factor");
    expect(await box.isChecked()).toBe(true);
    expect(await box.getAttribute("required")).not.toBeNull();
    await loginInBrowser(page, { user: "bob" });
    expect((await exchange(strong)).idToken).toMatchObject({ sub: "bob", acr: LOA_SECOND_FACTOR, amr: ["pwd", "otp"] });
  });

  it("waits for the user to confirm a logout without id_token_hint instead of signing out by itself", async () => {
    await page.goto(`${idp.endSessionEndpoint}?client_id=${DEMO_WEB_CLIENT_ID}`);
    await expect(page.locator("#logout-yes").isVisible()).resolves.toBe(true);
    expect(await page.locator("script").count()).toBe(0);
    await page.locator("#logout-yes").click();
    await page.waitForLoadState("domcontentloaded");
    await expect(page.locator("h1").textContent()).resolves.toBe("Signed out");
  });
});

describe("a refused or abandoned login at the dev IdP", () => {
  let context: BrowserContext;
  let page: Page;
  const auth = authorizationLater();

  beforeAll(async () => {
    ({ context, page } = await freshPage());
  });
  afterAll(() => context?.close());

  it("shows an error for a wrong password and stays on the login page, echoing the user name escaped", async () => {
    const hostile = `alice"><b id="injected">x</b>`;
    await page.goto(auth().url);
    await expect(loginInBrowser(page, { user: hostile, password: "wrong" })).rejects.toThrow(
      /Wrong user name or password/,
    );
    await expect(page.locator("#login-form").isVisible()).resolves.toBe(true);
    await expect(page.locator("#login").inputValue()).resolves.toBe(hostile);
    expect(await page.locator("#injected").count()).toBe(0);
  });

  it("returns error=access_denied with the state to the redirect_uri when the user then cancels", async () => {
    await page.locator("#cancel").click();
    await page.waitForURL((url) => url.origin === rpOrigin);
    const callback = callbackFor(auth().state);
    expect(callback.get("error")).toBe("access_denied");
    expect(callback.get("code")).toBeNull();
  });
});

// Last: it closes the browser the tests above share (afterAll's close is then a no-op).
describe("the browser harness", () => {
  it("closes the Chromium it launched when the stack beside it fails to start, and throws the stack's failure", async () => {
    let launched: StartedBrowser | undefined;
    const stackFailure = new Error("the stack did not start");
    const start = startWithBrowser(
      () => Promise.reject(stackFailure),
      async () => (launched = await startBrowser()),
    );
    await expect(start).rejects.toBe(stackFailure);
    expect(launched?.pid).toBeGreaterThan(0);
    expect(() => process.kill(launched?.pid as number, 0)).toThrow();
  });

  it("closes idempotently and leaves no Chromium process behind", async () => {
    expect(browser.pid).toBeGreaterThan(0);
    await Promise.all([browser.close(), browser.close()]);
    await browser.close();
    expect(() => process.kill(browser.pid as number, 0)).toThrow();
  });
});
