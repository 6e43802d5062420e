// The gate with browser sessions, on plain data: a real browser login (real sealing, real cookie
// codec) and a login client that answers from a table, standing in for the IdP round trips that the
// e2e tests drive for real through Envoy and Chromium.
import { describe, expect, it } from "vitest";
import { completeLogin } from "../../src/login/completeLogin.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { LoginError } from "../../src/oidc/LoginError.ts";
import { headerOf, locationOf, setCookiesOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { harness, ISSUER } from "../harness/sessionGate.ts";

describe("Gate with browser sessions", () => {
  it("sends a browser without a session to the IdP with exactly one Set-Cookie, the login transaction", async () => {
    const { gate } = harness();
    const d = await gate.decide(checkRequest("/home?tab=2", { accept: "text/html,application/xhtml+xml" }));
    expect(d).toMatchObject({ kind: "deny", status: 302, code: "login_required", route: "app" });
    expect(locationOf(d)).toMatch(new RegExp(`^${ISSUER}/authorize\\?`));
    const cookies = setCookiesOf(d);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(
      /^__Host-portcullis-login\.[A-Za-z0-9_-]{16}=.*; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it("answers an API client without a credential with 401, never a redirect", async () => {
    const { gate } = harness();
    const d = await gate.decide(checkRequest("/home", { accept: "application/json" }));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
  });

  it("never redirects gRPC, XHR or a fetch() even when they accept text/html", async () => {
    const { gate } = harness();
    const grpc = await gate.decide(
      checkRequest("/pkg.Svc/Call", { accept: "text/html", "content-type": "application/grpc" }, { method: "POST" }),
    );
    const xhr = await gate.decide(checkRequest("/home", { accept: "text/html", "x-requested-with": "XMLHttpRequest" }));
    const fetchCall = await gate.decide(checkRequest("/home", { accept: "text/html", "sec-fetch-mode": "cors" }));
    for (const d of [grpc, xhr, fetchCall]) expect(d).toMatchObject({ kind: "deny", status: 401 });
  });

  it("allows a request carrying the session and sets identity headers from it", async () => {
    const h = harness();
    const cookie = await h.login("alice", { roles: ["admin"] });
    const d = await h.gate.decide(checkRequest("/home", { cookie, "x-user-sub": "mallory" }));
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated", credential: "session", provider: "corp" });
    expect(headerOf(d, "x-user-sub")).toBe("alice");
    expect(headerOf(d, "x-user-email")).toBe("alice@example.com");
    expect(headerOf(d, "x-user-roles")).toBe("admin");
  });

  it("removes its own cookies from the Cookie header the upstream gets and keeps the others", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const d = await h.gate.decide(checkRequest("/home", { cookie: `theme=dark; ${cookie}; lang=en` }));
    expect(headerOf(d, "cookie")).toBe("theme=dark; lang=en");
    const onlyOurs = await h.gate.decide(checkRequest("/public/x", { cookie }));
    if (onlyOurs.kind !== "allow") throw new Error("expected allow");
    expect(onlyOurs.removeHeaders).toContain("cookie");
  });

  it("unseals a repeated session cookie once and reuses its identity headers, while another cookie value is unsealed anew", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const first = await h.gate.decide(checkRequest("/home", { cookie }));
    const second = await h.gate.decide(checkRequest("/home", { cookie }));
    if (first.kind !== "allow" || second.kind !== "allow") throw new Error("expected allow");
    expect(second.setHeaders).toBe(first.setHeaders);
    const eq = cookie.indexOf("=");
    const flipped = cookie.slice(0, eq + 30) + (cookie[eq + 30] === "A" ? "B" : "A") + cookie.slice(eq + 31);
    expect(await h.gate.decide(checkRequest("/home", { cookie: flipped }))).toMatchObject({
      status: 401,
      code: "session_invalid",
    });
  });

  it("refuses a cached session once its absolute lifetime is over", async () => {
    const h = harness();
    const cookie = await h.login("alice", {}, 600);
    expect(await h.gate.decide(checkRequest("/home", { cookie }))).toMatchObject({ kind: "allow" });
    h.clock.advance(86_400_000 + 1000);
    expect(await h.gate.decide(checkRequest("/home", { cookie }))).toMatchObject({ kind: "deny", status: 401 });
  });

  it("lets a bearer token decide when a request carries both a token and a session", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const d = await h.gate.decide(checkRequest("/home", { cookie, authorization: "Bearer some-token" }));
    expect(d).toMatchObject({ kind: "allow", credential: "bearer" });
    expect(headerOf(d, "x-user-sub")).toBe("bearer-user");
  });

  it("treats a tampered session cookie as no session: a browser logs in again, an API client gets 401 with the cookie cleared", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const eq = cookie.indexOf("=");
    const flipped = cookie.slice(0, eq + 20) + (cookie[eq + 20] === "A" ? "B" : "A") + cookie.slice(eq + 21);
    const browser = await h.gate.decide(checkRequest("/home", { cookie: flipped, accept: "text/html" }));
    expect(browser).toMatchObject({ status: 302, code: "login_required" });
    const api = await h.gate.decide(checkRequest("/home", { cookie: flipped }));
    expect(api).toMatchObject({ status: 401, code: "session_invalid" });
    expect(setCookiesOf(api)).toEqual(["__Host-portcullis=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]);
  });

  it("lets an optional route through anonymously without a credential and identifies a session when there is one", async () => {
    const h = harness();
    const anonymous = await h.gate.decide(checkRequest("/maybe/x", { accept: "text/html" }));
    expect(anonymous).toMatchObject({ kind: "allow", reason: "anonymous" });
    const cookie = await h.login("bob");
    const known = await h.gate.decide(checkRequest("/maybe/x", { cookie }));
    expect(headerOf(known, "x-user-sub")).toBe("bob");
  });

  it("refreshes an access token inside the refresh window and sends the resealed session back", async () => {
    const h = harness();
    const cookie = await h.login("alice", {}, 120);
    h.clock.advance(90_000); // 30 s left, inside the 60 s window
    const exp = Math.floor(h.clock.now() / 1000) + 600;
    h.refreshOutcome.next = {
      idTokenClaims: null,
      idToken: null,
      accessToken: "at-new",
      accessTokenExpiresAt: exp,
      refreshToken: "rt-2",
      scope: "openid",
    };
    const d = await h.gate.decide(checkRequest("/home", { cookie }));
    expect(d).toMatchObject({ kind: "allow", credential: "session" });
    expect(h.refreshCalls).toEqual(["rt-alice"]);
    const resealed = setCookiesOf(d);
    expect(resealed.length).toBeGreaterThan(0);
    expect(resealed[0]).toMatch(/^__Host-portcullis=/);
    expect(headerOf(d, "x-user-sub")).toBe("alice");
  });

  it("refreshes no earlier than half the token's lifetime when the configured window is longer", async () => {
    const h = harness(); // refreshWindowSeconds: 60
    const cookie = await h.login("alice", {}, 100); // effective window: 50 s
    h.refreshOutcome.next = {
      idTokenClaims: null,
      idToken: null,
      accessToken: "at-new",
      accessTokenExpiresAt: Math.floor(h.clock.now() / 1000) + 700,
      refreshToken: "rt-2",
      scope: null,
    };
    h.clock.advance(40_000); // 60 s left: inside 60, outside 50
    expect(await h.gate.decide(checkRequest("/home", { cookie }))).toMatchObject({ kind: "allow" });
    expect(h.refreshCalls).toEqual([]);
    h.clock.advance(15_000); // 45 s left
    await h.gate.decide(checkRequest("/home", { cookie }));
    expect(h.refreshCalls).toEqual(["rt-alice"]);
  });

  it("drops a role the refreshed tokens no longer carry, and keeps who signed in", async () => {
    const h = harness();
    const cookie = await h.login("alice", { roles: ["admin"] }, 30);
    h.clock.advance(20_000); // 10 s left, inside the window of 15 s (half of 30)
    h.refreshOutcome.next = {
      idTokenClaims: null,
      idToken: null,
      accessToken: "at-unknown-to-the-verifier",
      accessTokenExpiresAt: Math.floor(h.clock.now() / 1000) + 600,
      refreshToken: "rt-2",
      scope: "openid",
    };
    const d = await h.gate.decide(checkRequest("/home", { cookie }));
    expect(d).toMatchObject({ kind: "allow" });
    expect(h.refreshCalls).toEqual(["rt-alice"]);
    expect(headerOf(d, "x-user-roles")).toBeUndefined();
    expect(headerOf(d, "x-user-email")).toBe("alice@example.com");
  });

  it("refuses a step-up login whose ID token does not bring the acr asked for, instead of looping", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const stepUp = await h.gate.decide(checkRequest("/vault/", { cookie, accept: "text/html" }));
    const state = new URL(locationOf(stepUp)).searchParams.get("state")!;
    const txnCookie = setCookiesOf(stepUp)[0]!.split(";")[0]!;
    const exp = Math.floor(h.clock.now() / 1000) + 600;
    h.setLoginResult({
      idTokenClaims: { sub: "alice", acr: "loa1" },
      idToken: "id",
      accessToken: `at-alice-${exp}`,
      accessTokenExpiresAt: exp,
      refreshToken: null,
      scope: null,
    });
    const done = await completeLogin(
      h.browserLogin,
      new URLSearchParams({ code: "c", state }),
      parseSessionCookies(txnCookie),
    );
    expect(done).toMatchObject({ kind: "error", status: 400, reason: "acr_not_met" });
  });

  it("lets an optional route through anonymously when the session's refresh cannot reach the IdP", async () => {
    const h = harness();
    const cookie = await h.login("alice", {}, 30);
    h.clock.advance(40_000); // expired
    h.refreshOutcome.next = new LoginError("token_endpoint_unavailable", "down");
    expect(await h.gate.decide(checkRequest("/maybe/x", { cookie }))).toMatchObject({
      kind: "allow",
      reason: "anonymous",
    });
    expect(await h.gate.decide(checkRequest("/home", { cookie }))).toMatchObject({
      kind: "deny",
      status: 503,
      code: "idp_unavailable",
    });
  });

  it("ends the session when the refresh is refused with invalid_grant: the browser logs in again", async () => {
    const h = harness();
    const cookie = await h.login("alice", {}, 30);
    h.clock.advance(40_000);
    h.refreshOutcome.next = new LoginError("invalid_grant", "refresh token revoked");
    const d = await h.gate.decide(checkRequest("/home", { cookie, accept: "text/html" }));
    expect(d).toMatchObject({ status: 302, code: "login_required" });
  });

  it("keeps a still-valid session working when the IdP cannot be reached for a refresh", async () => {
    const h = harness();
    const cookie = await h.login("alice", {}, 50);
    h.refreshOutcome.next = new LoginError("token_endpoint_unavailable", "down");
    const d = await h.gate.decide(checkRequest("/home", { cookie }));
    expect(d).toMatchObject({ kind: "allow", credential: "session" });
  });

  it("answers a session without the route's scope with 403 insufficient_scope and an HTML page for a browser", async () => {
    const h = harness();
    const cookie = await h.login("alice", { scope: "openid" });
    const d = await h.gate.decide(checkRequest("/reports/q1", { cookie, accept: "text/html" }));
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(headerOf(d, "content-type")).toMatch(/^text\/html/);
    expect(headerOf(d, "www-authenticate")).toMatch(/error="insufficient_scope", .*scope="reports.read"/);
  });

  it("sends a session that falls short of the route's acr back to the IdP with acr_values and prompt=login", async () => {
    const h = harness();
    const cookie = await h.login("alice");
    const d = await h.gate.decide(checkRequest("/vault/", { cookie, accept: "text/html" }));
    expect(d).toMatchObject({ status: 302, code: "login_required" });
    const url = new URL(locationOf(d));
    expect(url.searchParams.get("acr_values")).toBe("loa2");
    expect(url.searchParams.get("prompt")).toBe("login");
    expect(setCookiesOf(d)).toHaveLength(1);
  });
});
