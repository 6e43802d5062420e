// A logout done in Keycloak ends the API tokens of that Keycloak session too: the test signs a user in
// with Keycloak's own login pages as the web client (authorization code with PKCE, the code read
// from the registered callback URL the browser lands on), so it holds a real access token whose
// `sid` names that session; an admin ending the session makes Keycloak post its back-channel logout
// to Portcullis, and the token is refused through Envoy while a token of another session passes.

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakRealm } from "../harness/keycloakAdmin.ts";
import { loginAtKeycloak } from "../harness/loginAtKeycloak.ts";
import { startBrowser, type StartedBrowser } from "../harness/startBrowser.ts";
import type { Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { ALICE, WEB_CLIENT } from "./portcullisRealm.ts";
import type { RealmUser } from "./portcullisRealm.ts";
import { PROVIDER, startKeycloakStack, type KeycloakStack } from "./startKeycloakStack.ts";

const ROUTES = [{ name: "api", match: { path: "/api" }, auth: "required" }];
/** Keycloak sends the logout token while the admin call runs; allow for a loaded machine. */
const LOGOUT_ARRIVAL_MS = 15_000;

let keycloakUrl: string;
let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;
let browser: StartedBrowser;

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
  await browser?.close();
  await started?.close();
});

/** A fresh Keycloak session of `user` for the web client, and the access token the code exchange gave. */
async function signInAsWebClient(user: RealmUser): Promise<{ token: string; sid: string }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const redirectUri = `${stack.origin}/oauth2/callback`;
    const verifier = randomBytes(32).toString("base64url");
    const authorize = new URL(`${realm.issuer}/protocol/openid-connect/auth`);
    for (const [name, value] of Object.entries({
      client_id: WEB_CLIENT.clientId,
      response_type: "code",
      scope: "openid",
      redirect_uri: redirectUri,
      state: randomBytes(16).toString("base64url"),
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }))
      authorize.searchParams.set(name, value);
    await page.goto(authorize.href);
    // The code is the test's: Portcullis, which started no login for this browser, refuses the
    // callback before it could redeem it (state_mismatch, nothing sent to Keycloak).
    const landedOn = new URL((await loginAtKeycloak(page, keycloakUrl, user)).landedOn);
    expect(landedOn.origin + landedOn.pathname).toBe(redirectUri);
    const code = landedOn.searchParams.get("code");
    expect(code).not.toBeNull();
    const res = await fetch(realm.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: code as string,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: WEB_CLIENT.clientId,
        client_secret: WEB_CLIENT.secret,
      }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as { access_token?: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const token = body.access_token as string;
    const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString("utf8")) as {
      sid?: unknown;
    };
    expect(typeof claims.sid).toBe("string");
    return { token, sid: claims.sid as string };
  } finally {
    await context.close();
  }
}

const apiCall = (token: string) => stack.request("/api/orders", { headers: { authorization: `Bearer ${token}` } });
const logouts = () => stack.metric("portcullis_backchannel_logouts_total", { provider: PROVIDER, result: "ok" });

describe("a Keycloak session ended by an admin", () => {
  it("ends its access tokens at Portcullis by back-channel, and only that session's", async () => {
    const ended = await signInAsWebClient(ALICE);
    const kept = await signInAsWebClient(ALICE);
    expect(ended.sid).not.toBe(kept.sid);
    // Twice each: the second answer comes from the token cache.
    for (const token of [ended.token, ended.token, kept.token, kept.token])
      expect((await apiCall(token)).status).toBe(200);
    const accepted = await logouts();

    await realm.deleteSession(ended.sid);

    expect(await waitUntil(async () => (await logouts()) > accepted, LOGOUT_ARRIVAL_MS)).toBe(true);
    const refused = await apiCall(ended.token);
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="the token has been revoked"',
    );
    expect(refused.json).toMatchObject({ error: "token_revoked" });
    expect((await apiCall(kept.token)).status).toBe(200);
  });
});
