// Browser login given a clock keeps all of its time on it, its defaults included: the revocation
// list it makes when none is given (a sign-out refuses a copy of the cookie until the session would
// have expired), whatever the clock reads against the system's time.
import { describe, expect, it } from "vitest";
import { createBrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { loadSession } from "../../src/login/freshenSession.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { signOut } from "../../src/login/signOut.ts";
import type { Session } from "../../src/session/Session.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { browserLoginConfig } from "../harness/browserLoginConfig.ts";

const ISSUER = "https://idp.example.com";

function browserLoginAt(startMs: number) {
  const config = browserLoginConfig();
  const clock = createManualClock(startMs);
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => null,
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    clock,
  });
  return { login, clock };
}

function sessionAt(t: number, lifetimeSeconds: number): Session {
  return {
    v: 1,
    id: "session-id-0123456789",
    provider: "corp",
    iss: ISSUER,
    sub: "alice",
    sid: null,
    claims: { sub: "alice" },
    accessToken: "at",
    accessTokenExpiresAt: t + 300,
    accessTokenIssuedAt: t,
    refreshToken: null,
    idToken: null,
    authTime: t,
    createdAt: t,
    expiresAt: t + lifetimeSeconds,
  };
}

describe("browser login on its clock", () => {
  // A year before and a year after the system's time.
  it.each([
    ["behind the system clock", Date.now() - 365 * 86_400_000],
    ["ahead of the system clock", Date.now() + 365 * 86_400_000],
  ])("refuses a copy of a signed-out cookie with the default revocation list, its clock %s", async (_, startMs) => {
    const { login } = browserLoginAt(startMs);
    const t = login.nowSeconds();
    const created = await login.store.create(sessionAt(t, login.config.lifetimeSeconds), new Map(), t);
    const cookieHeader = created.map((c) => c.split(";")[0]).join("; ");
    expect((await loadSession(login, parseSessionCookies(cookieHeader))).kind).toBe("session");

    const out = await signOut(login, parseSessionCookies(cookieHeader), null);
    expect(out.kind).toBe("redirect");

    // The copy taken before the sign-out: the sealed cookie itself is still valid, the revocation refuses it.
    expect((await loadSession(login, parseSessionCookies(cookieHeader))).kind).toBe("invalid");
  });
});
