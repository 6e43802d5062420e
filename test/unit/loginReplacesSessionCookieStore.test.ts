// A completed login ends the cookie session the browser held (session.store: cookie), through the
// Gate and the callback on plain data: after a step-up, a consent or a new sign-in, a copy of the
// old sealed cookie is refused (its id is revoked, as a sign-out revokes it) and the new session is
// let through. A login that fails leaves the old session alone, a cookie whose seal does not verify
// revokes nothing, and a session the store cannot read is revoked by the id under its verified seal.
import { describe, expect, it } from "vitest";
import type { CallbackOutcome } from "../../src/login/completeLogin.ts";
import { locationOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { harness, type Harness } from "../harness/sessionGate.ts";

/** The session cookie of a completed callback, as the browser's Cookie header would carry it. */
function sessionCookieOf(done: CallbackOutcome): string {
  if (done.kind !== "redirect") throw new Error(`login failed: ${done.reason}`);
  return done.setCookies
    .filter((c) => c.startsWith("__Host-portcullis="))
    .map((c) => c.split(";")[0])
    .join("; ");
}

async function statusOf(h: Harness, path: string, cookie: string, accept = "application/json") {
  const d = await h.gate.decide(checkRequest(path, { cookie, accept }));
  return d.kind === "allow" ? 200 : d.status;
}

describe("a new login replaces the browser's cookie session", () => {
  it("refuses a copy of the password-only cookie after the step-up (401 for an API call, a 302 to the IdP for a page) and lets the stepped-up session through", async () => {
    const h = harness();
    const weak = await h.login("alice");
    expect(await statusOf(h, "/home", weak)).toBe(200);
    const stepUp = await h.gate.decide(checkRequest("/vault/", { cookie: weak, accept: "text/html" }));
    expect(stepUp).toMatchObject({ kind: "deny", status: 302 });

    const strong = sessionCookieOf(await h.complete(stepUp, {}, { sub: "alice", acr: "loa2" }, weak));

    expect(strong).not.toBe(weak);
    expect(await statusOf(h, "/vault/", strong)).toBe(200);
    expect(await statusOf(h, "/home", weak)).toBe(401);
    const page = await h.gate.decide(checkRequest("/home", { cookie: weak, accept: "text/html" }));
    expect(page).toMatchObject({ kind: "deny", status: 302 });
    expect(new URL(locationOf(page)).origin).toBe("https://idp.example.com");
  });

  it("ends the old session when another user signs in over it in the same browser", async () => {
    const h = harness();
    const alice = await h.login("alice");
    const started = await h.gate.decide(checkRequest("/home", { accept: "text/html" }));
    const bob = sessionCookieOf(await h.complete(started, {}, { sub: "bob", acr: "loa1" }, alice));
    expect(await statusOf(h, "/home", bob)).toBe(200);
    expect(await statusOf(h, "/home", alice)).toBe(401);
  });

  it("refuses a copy of the cookie the session had before an incremental consent, and lets the consented session through", async () => {
    const h = harness({ provider: { consentScopes: ["reports.read"] } });
    const before = await h.login("alice", { scope: "openid" });
    const started = await h.gate.decide(checkRequest("/reports/q1", { cookie: before, accept: "text/html" }));
    expect(started).toMatchObject({ kind: "deny", status: 302 });
    const done = await h.complete(started, { scope: "openid reports.read" }, { sub: "alice", acr: "loa1" }, before);
    const after = sessionCookieOf(done);
    expect(await statusOf(h, "/reports/q1", after)).toBe(200);
    expect(await statusOf(h, "/home", before)).toBe(401);
  });

  it("leaves the session alone when the step-up's callback fails (the acr asked for is not brought)", async () => {
    const h = harness();
    const weak = await h.login("alice");
    const stepUp = await h.gate.decide(checkRequest("/vault/", { cookie: weak, accept: "text/html" }));
    const done = await h.complete(stepUp, {}, { sub: "alice", acr: "loa1" }, weak);
    expect(done).toMatchObject({ kind: "error", reason: "acr_not_met" });
    expect(await statusOf(h, "/home", weak)).toBe(200);
  });

  it("revokes nothing for a session cookie whose seal does not verify, and the login succeeds", async () => {
    const h = harness();
    const alice = await h.login("alice");
    const [name, value] = alice.split("=") as [string, string];
    const forged = `${name}=${value.slice(0, -4)}${value.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const started = await h.gate.decide(checkRequest("/home", { accept: "text/html" }));
    const bob = sessionCookieOf(await h.complete(started, {}, { sub: "bob", acr: "loa1" }, forged));
    expect(await statusOf(h, "/home", bob)).toBe(200);
    expect(h.browserLogin.revocations.size()).toBe(0);
    // The authentic cookie (never sent with the login) is still alice's session.
    expect(await statusOf(h, "/home", alice)).toBe(200);
  });
});

describe("a new login over a session the store cannot read", () => {
  it("revokes, under every provider, the id under the cookie's verified seal", async () => {
    const h = harness();
    const alice = await h.login("alice");
    const started = await h.gate.decide(checkRequest("/home", { accept: "text/html" }));
    // The cookie store always answers; a store that cannot (Redis down) is the fault stood in for.
    const { store } = h.browserLogin;
    const load = store.load;
    store.load = () => ({ kind: "unavailable", reason: "the store does not answer" });
    let bob: string;
    try {
      bob = sessionCookieOf(await h.complete(started, {}, { sub: "bob", acr: "loa1" }, alice));
    } finally {
      store.load = load;
    }
    expect(await statusOf(h, "/home", bob)).toBe(200);
    expect(await statusOf(h, "/home", alice)).toBe(401);
  });
});
