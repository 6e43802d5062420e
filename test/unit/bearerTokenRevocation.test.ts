// Bearer tokens meet the revocation list back-channel logouts write: a token whose IdP session
// (`sid`) was logged out is refused, and so is a token of a user logged out everywhere (`sub`) when
// it was issued at or before that logout. The rule on a real in-memory list, the Gate's answer
// (also for a token the cache already knows), and how long a logout is kept.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { Deny } from "../../src/core/Decision.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createRecordingTrace } from "../../src/core/GateTrace.ts";
import { backchannelLogout } from "../../src/login/backchannelLogout.ts";
import { createBrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { createRevocationList, type RevocationList } from "../../src/session/createRevocationList.ts";
import { browserLoginConfig } from "../harness/browserLoginConfig.ts";
import { headerOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";

const T0 = 1_800_000_000;
const routes: RouteConfig[] = [{ name: "api", match: { hosts: [], path: "/api" }, auth: "required", providers: [] }];

function listAt(clock: ManualClock): RevocationList {
  return createRevocationList({ connection: null, jtiTtlSeconds: 1200, clock });
}

let jti = 0;
/** Records a logout as back-channel logout does: by sid when the token has one, else by sub. */
async function logout(list: RevocationList, by: { sid?: string; sub?: string }, at: number, provider = "corp") {
  const revocation = { provider, sid: by.sid ?? null, sub: by.sub ?? null, at };
  await list.revoke(revocation, 86_400, { issuer: "https://idp.example.com", jti: `jti-${++jti}` });
}

function accepted(claims: Record<string, unknown>, provider = "corp"): VerifyOutcome {
  return { ok: true, provider, claims: { exp: T0 + 3600, ...claims }, expiresAt: T0 + 3600 };
}

describe("the bearer revocation rule", () => {
  it("refuses no token while the list is empty", () => {
    const list = listAt(createManualClock(T0 * 1000));
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 })).toBe(false);
    expect(list.isTokenRevoked("corp", {})).toBe(false);
  });

  it("refuses a token whose sid its provider's logout named, whenever it was issued, and not the user's other sessions", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    await logout(list, { sid: "s1" }, T0);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 - 60 })).toBe(true);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 + 60 })).toBe(true);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s2", iat: T0 - 60 })).toBe(false);
    // A sid logout names one IdP session: a token that names none is not covered (docs/security.md).
    expect(list.isTokenRevoked("corp", { sub: "alice", iat: T0 - 60 })).toBe(false);
  });

  it("refuses a user's tokens issued at or before a sub logout and accepts those issued after it", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    await logout(list, { sub: "alice" }, T0);
    expect(list.isTokenRevoked("corp", { sub: "alice", iat: T0 - 1 })).toBe(true);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s9", iat: T0 })).toBe(true);
    expect(list.isTokenRevoked("corp", { sub: "alice", iat: T0 + 1 })).toBe(false);
    expect(list.isTokenRevoked("corp", { sub: "bob", iat: T0 - 1 })).toBe(false);
  });

  it("refuses a token without a numeric iat after its user's sub logout, since it cannot show it came after", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    await logout(list, { sub: "alice" }, T0);
    expect(list.isTokenRevoked("corp", { sub: "alice" })).toBe(true);
    expect(list.isTokenRevoked("corp", { sub: "alice", iat: String(T0 + 60) })).toBe(true);
  });

  it("leaves another provider's tokens with the same sid and sub alone", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    await logout(list, { sid: "s1" }, T0);
    await logout(list, { sub: "alice" }, T0);
    expect(list.isTokenRevoked("partner", { sub: "alice", sid: "s1", iat: T0 - 60 })).toBe(false);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 - 60 })).toBe(true);
  });

  it("forgets a logout once its lifetime is over", async () => {
    const clock = createManualClock(T0 * 1000);
    const list = listAt(clock);
    await logout(list, { sid: "s1" }, T0);
    clock.advance(86_399_000);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 })).toBe(true);
    clock.advance(2_000);
    expect(list.isTokenRevoked("corp", { sub: "alice", sid: "s1", iat: T0 })).toBe(false);
  });
});

describe("the Gate and revoked bearer tokens", () => {
  it("refuses a token the cache already answered from the first check after its sid was logged out: 401 invalid_token, token_revoked", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    const { gate, verifyCalls } = gateOver({
      routes,
      tokens: { t: accepted({ sub: "alice", sid: "s1", iat: T0 - 60 }), other: accepted({ sub: "alice", sid: "s2" }) },
      tokenCache: true,
      revocations: list,
    });
    const request = checkRequest("/api/x", { authorization: "Bearer t" });
    expect((await gate.decide(request)).kind).toBe("allow");
    // The second check is the cache's, with the answer kept for this token.
    expect((await gate.decide(request)).kind).toBe("allow");
    await logout(list, { sid: "s1" }, T0);
    const d = (await gate.decide(request)) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_revoked", provider: "corp", route: "api" });
    expect(headerOf(d, "www-authenticate")).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="the token has been revoked"',
    );
    expect(JSON.parse(d.body)).toEqual({ error: "token_revoked", error_description: "the token has been revoked" });
    expect(d.detail).not.toContain("s1");
    expect(verifyCalls.filter((c) => c.token === "t")).toHaveLength(1);
    // The same user's token of another IdP session still passes.
    expect((await gate.decide(checkRequest("/api/x", { authorization: "Bearer other" }))).kind).toBe("allow");
  });

  it("refuses an introspected token of a user logged out everywhere, and accepts the one issued after the logout", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    const { gate } = gateOver({
      routes,
      tokens: {
        "opaque-before": accepted({ sub: "alice", iat: T0 - 5, active: true }),
        "opaque-after": accepted({ sub: "alice", iat: T0 + 5, active: true }),
      },
      revocations: list,
    });
    await logout(list, { sub: "alice" }, T0);
    const before = await gate.decide(checkRequest("/api/x", { authorization: "Bearer opaque-before" }));
    expect(before).toMatchObject({ kind: "deny", code: "token_revoked" });
    const after = await gate.decide(checkRequest("/api/x", { authorization: "Bearer opaque-after" }));
    expect(after.kind).toBe("allow");
  });

  it("refuses a revoked token sent with the DPoP scheme on the DPoP challenge", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    const { gate } = gateOver({
      routes,
      tokens: { d: accepted({ sub: "alice", sid: "s1", cnf: { jkt: "thumbprint" } }) },
      revocations: list,
    });
    await logout(list, { sid: "s1" }, T0);
    const d = (await gate.decide(checkRequest("/api/x", { authorization: "DPoP d", dpop: "proof" }))) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_revoked" });
    expect(headerOf(d, "www-authenticate")).toMatch(/^DPoP error="invalid_token"/);
  });

  it("reports the refusal as the revocation step to explain", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    const { gate } = gateOver({ routes, tokens: { t: accepted({ sub: "alice", sid: "s1" }) }, revocations: list });
    await logout(list, { sid: "s1" }, T0);
    const trace = createRecordingTrace();
    await gate.explain(checkRequest("/api/x", { authorization: "Bearer t" }), trace);
    expect(trace.entries).toContainEqual({ step: "revocation", outcome: "token_revoked" });
  });
});

describe("shadow rules and revoked bearer tokens", () => {
  it("records a shadow rule's would-be token_revoked for a revoked token on a route that lets it pass anonymously", async () => {
    const list = listAt(createManualClock(T0 * 1000));
    const { gate } = gateOver({
      routes: [
        { name: "api-strict", match: { hosts: [], path: "/api" }, auth: "required", providers: [], mode: "shadow" },
        { name: "api", match: { hosts: [], path: "/api" }, auth: "public", providers: [] },
      ],
      tokens: { t: accepted({ sub: "alice", sid: "s1" }) },
      revocations: list,
    });
    await logout(list, { sid: "s1" }, T0);
    const d = await gate.decide(checkRequest("/api/x", { authorization: "Bearer t" }));
    expect(d).toMatchObject({ kind: "allow", route: "api", reason: "public" });
    expect(d.shadowDenials).toEqual([{ route: "api-strict", code: "token_revoked" }]);
  });
});

describe("how long a back-channel logout is kept", () => {
  async function loggedOutWith(session: { lifetimeSeconds: number; maxTokenLifetimeSeconds: number }) {
    const clock = createManualClock(T0 * 1000);
    const revocations = listAt(clock);
    const config = browserLoginConfig();
    const login = createBrowserLogin({
      session: { ...config.session, ...session },
      providers: Object.values(config.providers),
      loginClient: () => null,
      verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
      verifyLogoutToken: async () => ({
        provider: "corp",
        outcome: { ok: true, claims: { iss: "https://idp.example.com", jti: "j", iat: T0, sid: "s1", sub: null } },
      }),
      revocations,
      clock,
    });
    expect(await backchannelLogout(login, "logout-token")).toMatchObject({ kind: "ok" });
    return { clock, revocations };
  }
  const token = { sub: "alice", sid: "s1", iat: T0 - 60 };

  it("keeps it for the longest token lifetime when that is longer than the session lifetime", async () => {
    const { clock, revocations } = await loggedOutWith({ lifetimeSeconds: 3600, maxTokenLifetimeSeconds: 7200 });
    clock.advance(7_199_000);
    expect(revocations.isTokenRevoked("corp", token)).toBe(true);
    clock.advance(2_000);
    expect(revocations.isTokenRevoked("corp", token)).toBe(false);
  });

  it("keeps it for the session lifetime when that is longer", async () => {
    const { clock, revocations } = await loggedOutWith({ lifetimeSeconds: 7200, maxTokenLifetimeSeconds: 600 });
    clock.advance(7_199_000);
    expect(revocations.isTokenRevoked("corp", token)).toBe(true);
  });

  it("defaults session.maxTokenLifetimeSeconds to a day", () => {
    expect(browserLoginConfig().session.maxTokenLifetimeSeconds).toBe(86_400);
  });
});

describe("one IdP, one revocation key", () => {
  it("refuses a bearer-only provider that claims a login provider's issuer, so a logout and a token of one IdP name the same provider", () => {
    const parsed = parseConfig({
      providers: {
        corp: {
          issuer: "https://idp.example.com",
          audiences: ["api"],
          clientId: "web",
          clientSecret: "secret-secret",
          redirectUri: "https://app.example.com/oauth2/callback",
        },
        apis: { issuer: "https://idp.example.com", audiences: ["other-api"] },
        aliased: {
          issuer: "https://other.example.com",
          tokenIssuers: ["https://idp.example.com"],
          audiences: ["api"],
        },
      },
      session: { keys: ["k".repeat(40)] },
      routes: [{ name: "app", match: { path: "/" }, auth: "required" }],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(["providers.apis.issuer", "providers.aliased.tokenIssuers[0]"]),
    );
  });
});
