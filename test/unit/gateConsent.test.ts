// Incremental consent on the Check path and the callback, on plain data (the login client answers
// from a table): a browser session lacking a route's scope goes back to the IdP for exactly that
// scope, only when the provider may ask for it; the callback lets the new session through only when
// it carries the scope, and answers a 403 page (never another round trip) when it does not.
import { describe, expect, it } from "vitest";
import type { CompiledRequirements } from "../../src/core/compileRequirements.ts";
import { NO_COMPILED_REQUIREMENTS } from "../../src/core/compileRequirements.ts";
import { planConsentLogin } from "../../src/core/planConsentLogin.ts";
import { headerOf, locationOf, setCookiesOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { harness, type Harness } from "../harness/sessionGate.ts";

const CONSENTING = {
  provider: { consentScopes: ["reports.read", "reports.write"] },
  routes: [
    { name: "ledger", match: { path: "/ledger" }, auth: "required", require: { scopes: ["ledger.read"] } },
    {
      name: "audit",
      match: { path: "/audit" },
      auth: "required",
      require: { scopes: ["reports.write"], acr: ["loa2"] },
    },
  ],
};
const PAGE = { accept: "text/html" };

/** The session's Cookie header from a callback that stored a new session. */
function sessionCookieOf(setCookies: readonly string[]): string {
  return setCookies
    .filter((c) => c.startsWith("__Host-portcullis="))
    .map((c) => c.split(";")[0])
    .join("; ");
}

async function consentStarted(
  h: Harness,
  path: string,
): Promise<{ cookie: string; started: Awaited<ReturnType<Harness["gate"]["decide"]>> }> {
  const cookie = await h.login("alice", { scope: "openid email orders.read" });
  const started = await h.gate.decide(checkRequest(path, { cookie, ...PAGE }));
  return { cookie, started };
}

describe("incremental consent for a browser session", () => {
  it("sends a page without the route's scope to the IdP for the configured, granted and missing scopes, without prompt=login", async () => {
    const h = harness(CONSENTING);
    const { started } = await consentStarted(h, "/reports/q1?year=2026");
    expect(started).toMatchObject({ kind: "deny", status: 302, code: "login_required", route: "reports" });
    const url = new URL(locationOf(started));
    expect(url.searchParams.get("scope")).toBe("openid email orders.read reports.read");
    expect(url.searchParams.has("prompt")).toBe(false);
    expect(url.searchParams.has("acr_values")).toBe(false);
    expect(h.begins.at(-1)).toMatchObject({
      returnTo: "https://app.example.com/reports/q1?year=2026",
      scopes: { add: ["reports.read"], keep: ["openid", "email", "orders.read"] },
    });
    // The 302 carries the new login's transaction and leaves the session alone.
    expect(setCookiesOf(started)).toEqual([expect.stringMatching(/^__Host-portcullis-login\./)]);
  });

  it("returns the browser to the page with a new session that carries the scope, and the page passes", async () => {
    const h = harness(CONSENTING);
    const { cookie, started } = await consentStarted(h, "/reports/q1");
    const done = await h.complete(started, { scope: "openid email orders.read reports.read" });
    if (done.kind !== "redirect") throw new Error(`callback failed: ${done.reason}`);
    expect(done.location).toBe("https://app.example.com/reports/q1");
    const renewed = sessionCookieOf(done.setCookies);
    expect(renewed).not.toBe(cookie);
    const page = await h.gate.decide(checkRequest("/reports/q1", { cookie: renewed, ...PAGE }));
    expect(page).toMatchObject({ kind: "allow", route: "reports", credential: "session" });
    expect(headerOf(page, "x-user-sub")).toBe("alice");
  });

  it("answers a 403 page on the callback when the IdP grants fewer scopes, so the browser is not sent round again", async () => {
    const h = harness(CONSENTING);
    const { started } = await consentStarted(h, "/reports/q1");
    const done = await h.complete(started, { scope: "openid email orders.read" });
    expect(done).toMatchObject({ kind: "error", status: 403, reason: "scope_not_granted", retry: null });
    if (done.kind !== "error") throw new Error("expected an error");
    expect(done.detail).toContain("reports.read");
    expect(sessionCookieOf(done.setCookies)).toBe("");
  });

  it("does not send a session made by a consent for a scope again once a refresh took that scope away", async () => {
    const h = harness(CONSENTING);
    const { started } = await consentStarted(h, "/reports/q1");
    const done = await h.complete(started, { scope: "openid reports.read" });
    if (done.kind !== "redirect") throw new Error(`callback failed: ${done.reason}`);
    const cookie = sessionCookieOf(done.setCookies);
    expect(await h.gate.decide(checkRequest("/reports/q1", { cookie, ...PAGE }))).toMatchObject({ kind: "allow" });
    h.clock.advance(560_000); // inside the refresh window of the 600 s token
    h.refreshOutcome.next = {
      idTokenClaims: null,
      idToken: null,
      accessToken: "at-narrowed",
      accessTokenExpiresAt: Math.floor(h.clock.now() / 1000) + 600,
      refreshToken: "rt-2",
      scope: "openid",
    };
    const begun = h.begins.length;
    const d = await h.gate.decide(checkRequest("/reports/q1", { cookie, ...PAGE }));
    expect(h.refreshCalls).toHaveLength(1);
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(h.begins).toHaveLength(begun);
  });

  it("keeps 403 insufficient_scope for a scope outside the provider's consentScopes", async () => {
    const h = harness(CONSENTING);
    const cookie = await h.login("alice", { scope: "openid" });
    const d = await h.gate.decide(checkRequest("/ledger", { cookie, ...PAGE }));
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(headerOf(d, "www-authenticate")).toContain('scope="ledger.read"');
    expect(h.begins).toHaveLength(1); // the first login only
  });

  it("asks for the missing scope and the route's acr in one round trip, with prompt=login", async () => {
    const h = harness(CONSENTING);
    const { started } = await consentStarted(h, "/audit");
    const url = new URL(locationOf(started));
    expect(url.searchParams.get("scope")).toBe("openid email orders.read reports.write");
    expect(url.searchParams.get("acr_values")).toBe("loa2");
    expect(url.searchParams.get("prompt")).toBe("login");
    const weak = await h.complete(started, { scope: "reports.write" }, { sub: "alice", acr: "loa1" });
    expect(weak).toMatchObject({ kind: "error", reason: "acr_not_met" });
    const again = await h.gate.decide(checkRequest("/audit", { cookie: await h.login("alice"), ...PAGE }));
    const done = await h.complete(again, { scope: "openid reports.write" }, { sub: "alice", acr: "loa2" });
    if (done.kind !== "redirect") throw new Error(`callback failed: ${done.reason}`);
    const page = await h.gate.decide(checkRequest("/audit", { cookie: sessionCookieOf(done.setCookies), ...PAGE }));
    expect(page).toMatchObject({ kind: "allow", route: "audit" });
  });

  it("answers API callers 403 insufficient_scope naming the route's scope: a bearer token, and a session used by fetch()", async () => {
    const h = harness(CONSENTING);
    const bearer = await h.gate.decide(checkRequest("/reports/q1", { authorization: "Bearer some-token", ...PAGE }));
    expect(bearer).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(headerOf(bearer, "www-authenticate")).toMatch(/^Bearer .*error="insufficient_scope".*scope="reports.read"/);
    const cookie = await h.login("alice", { scope: "openid" });
    const fetched = await h.gate.decide(
      checkRequest("/reports/q1", { cookie, accept: "text/html", "sec-fetch-mode": "cors" }),
    );
    expect(fetched).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(headerOf(fetched, "www-authenticate")).toContain('scope="reports.read"');
  });
});

describe("a form POST", () => {
  const FORM = {
    accept: "text/html",
    "sec-fetch-mode": "navigate",
    "content-type": "application/x-www-form-urlencoded",
  };

  it("without a session is answered 401 token_missing, never sent to log in", async () => {
    const h = harness(CONSENTING);
    const d = await h.gate.decide(checkRequest("/reports/q1", FORM, { method: "POST" }));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
    expect(locationOf(d)).toBe("");
    expect(h.begins).toEqual([]);
  });

  it("with a session lacking a consentable scope is answered 403 insufficient_scope, never sent for consent", async () => {
    const h = harness(CONSENTING);
    const cookie = await h.login("alice", { scope: "openid" });
    const d = await h.gate.decide(checkRequest("/reports/q1", { cookie, ...FORM }, { method: "POST" }));
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
    expect(locationOf(d)).toBe("");
    expect(h.begins).toHaveLength(1); // the first login only
  });
});

describe("planConsentLogin", () => {
  const req = (over: Partial<CompiledRequirements>): CompiledRequirements => ({ ...NO_COMPILED_REQUIREMENTS, ...over });
  const subject = (claims: Record<string, unknown>) => ({ claims, roles: [], now: 1_800_000_000 });
  const allowed = new Set(["a", "b"]);

  it("plans nothing when one missing scope is outside the allowlist", () => {
    expect(planConsentLogin(req({ scopes: ["a", "c"] }), subject({}), ["a", "c"], allowed)).toBeNull();
  });

  it("asks for the missing scopes and keeps only well-formed granted ones, at most 64", () => {
    const granted = ["x", 'bad"quote', ...Array.from({ length: 70 }, (_, i) => `s${i}`)].join(" ");
    const plan = planConsentLogin(req({ scopes: ["a"] }), subject({ scope: granted }), ["a"], allowed);
    expect(plan?.consent?.add).toEqual(["a"]);
    expect(plan?.consent?.keep).toHaveLength(64);
    expect(plan?.consent?.keep).not.toContain('bad"quote');
    expect(plan).toMatchObject({ acrValues: null, maxAge: null, consent: { stepUp: false } });
  });

  it("carries the route's step-up when that fails too", () => {
    const stepUp = { acr: ["loa2"], amr: [], maxAge: 300 };
    const plan = planConsentLogin(req({ scopes: ["a"], stepUp }), subject({ acr: "loa1" }), ["a"], allowed);
    expect(plan).toMatchObject({ acrValues: ["loa2"], maxAge: 300, consent: { add: ["a"], stepUp: true } });
  });
});
