// routes[].forwardToken: the upstream of a route that asks for it gets the caller's token (a session's
// access or ID token, a bearer caller's own access token), in `Authorization: Bearer` or a header of
// its own; the client's Authorization header never goes through in its place; such answers are never
// kept for reuse; check-config refuses it with token exchange or on a public route and warns beside
// the signed assertion.
import { describe, expect, it } from "vitest";
import { credentialHeadersOf } from "../../src/app/credentialHeadersOf.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { Allow, Decision } from "../../src/core/Decision.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { forwardedTokenOf, withForwardedToken } from "../../src/core/withForwardedToken.ts";
import type { Session } from "../../src/session/Session.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const routes: RouteConfig[] = [
  { name: "calendar", match: { hosts: [], path: "/calendar" }, auth: "required", providers: [] },
  { name: "api", match: { hosts: [], path: "/" }, auth: "required", providers: [] },
];
const alice: VerifyOutcome = { ok: true, provider: "corp", claims: { sub: "alice", exp: 2e9 }, expiresAt: 2e9 };
const access = { token: "access" as const, header: "authorization" };
const gate = () =>
  gateOver({ routes, tokens: { "alice.jwt": alice }, tokenCache: true, forwardTokens: new Map([["calendar", access]]) })
    .gate;
const allow: Allow = {
  kind: "allow",
  route: "calendar",
  reason: "authenticated",
  setHeaders: [["x-user-sub", "alice"]],
  removeHeaders: ["x-user-email", "authorization"],
};
const session = { accessToken: "session-access", idToken: "session-id" } as Session;
const upstreamHeader = (d: Decision, name: string) =>
  d.kind === "allow" ? d.setHeaders.find(([n]) => n === name)?.[1] : undefined;

describe("forwarding the caller's token upstream", () => {
  it("sends a session's access token as Authorization: Bearer, overwriting the client's header", () => {
    const d = withForwardedToken(allow, access, forwardedTokenOf(access, session, null));
    expect(upstreamHeader(d, "authorization")).toBe("Bearer session-access");
    // Set, not also removed: Envoy applies removals after it sets headers.
    expect(d.kind === "allow" && d.removeHeaders).not.toContain("authorization");
  });

  it("sends a session's ID token alone in a header of its own and removes the client's Authorization", () => {
    const id = { token: "id" as const, header: "x-id-token" };
    const d = withForwardedToken({ ...allow, removeHeaders: [] }, id, forwardedTokenOf(id, session, null));
    expect(upstreamHeader(d, "x-id-token")).toBe("session-id");
    expect(d.kind === "allow" && d.removeHeaders).toContain("authorization");
  });

  it("forwards a bearer caller's own access token but never a DPoP-bound one or an ID token it has not got", () => {
    expect(forwardedTokenOf(access, undefined, { token: "t", scheme: "bearer" })).toBe("t");
    expect(forwardedTokenOf(access, undefined, { token: "t", scheme: "dpop" })).toBeNull();
    expect(forwardedTokenOf({ token: "id", header: "x-id" }, undefined, { token: "t", scheme: "bearer" })).toBeNull();
    const none = withForwardedToken({ ...allow, removeHeaders: [] }, access, null);
    expect(upstreamHeader(none, "authorization")).toBeUndefined();
    expect(none.kind === "allow" && none.removeHeaders).toContain("authorization");
  });

  it("refuses (internal_error) a token that is not a header-safe string rather than forward it", () => {
    const d = withForwardedToken(allow, access, "abc\r\nx-user-sub: root");
    expect(d).toMatchObject({ kind: "deny", code: "internal_error" });
  });

  it("passes a bearer caller's token on the route that asks, never keeps that answer, and not on other routes", async () => {
    const g = gate();
    const asAlice = { authorization: "Bearer alice.jwt" };
    await g.decide(checkRequest("/calendar/1", asAlice));
    const second = await g.decide(checkRequest("/calendar/2", asAlice));
    expect(upstreamHeader(second, "authorization")).toBe("Bearer alice.jwt");
    expect(Object.isFrozen(second)).toBe(false);
    await g.decide(checkRequest("/api/1", asAlice));
    const api = await g.decide(checkRequest("/api/2", asAlice));
    expect(upstreamHeader(api, "authorization")).toBeUndefined();
    expect(api.kind === "allow" && api.removeHeaders).toContain("authorization");
  });
});

describe("a client's own copy of the forwarded token's header", () => {
  const idToken = { enabled: true, token: "id" as const, header: "x-id-token" };
  const profile: RouteConfig = {
    name: "profile",
    match: { hosts: [], path: "/profile" },
    auth: "optional",
    providers: [],
    forwardToken: idToken,
  };
  const g = () =>
    gateOver({
      routes: [profile],
      tokens: { "alice.jwt": alice },
      forwardTokens: new Map([["profile", { token: "id" as const, header: "x-id-token" }]]),
    }).gate;
  const forged = { "x-id-token": "forged" };

  it("never reaches the upstream on an anonymous answer of the route", async () => {
    const d = await g().decide(checkRequest("/profile", forged));
    expect(d.kind).toBe("allow");
    expect(upstreamHeader(d, "x-id-token")).toBeUndefined();
    expect(d.kind === "allow" && d.removeHeaders).toContain("x-id-token");
  });

  it("never reaches the upstream when the caller has no token of that kind (a bearer caller on an ID-token route)", async () => {
    const d = await g().decide(checkRequest("/profile", { ...forged, authorization: "Bearer alice.jwt" }));
    expect(d.kind).toBe("allow");
    expect(upstreamHeader(d, "x-id-token")).toBeUndefined();
    expect(d.kind === "allow" && d.removeHeaders).toContain("x-id-token");
  });

  it("is replaced by the forwarded token when there is one", () => {
    const d = withForwardedToken(allow, { token: "id", header: "x-id-token" }, "session-id");
    expect(upstreamHeader(d, "x-id-token")).toBe("session-id");
    expect(d.kind === "allow" && d.removeHeaders).not.toContain("x-id-token");
  });
});

describe("check-config for forwardToken", () => {
  const base = {
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  };
  const withRoute = (route: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    parseConfig({ ...base, ...extra, routes: [{ name: "r", match: { path: "/" }, auth: "required", ...route }] });

  it("is off by default and accepted on an authenticated route", () => {
    const ok = withRoute({ forwardToken: { enabled: true } });
    expect(ok.ok).toBe(true);
    if (ok.ok)
      expect(ok.config.routes[0]!.forwardToken).toEqual({ enabled: true, token: "access", header: "authorization" });
    const plain = withRoute({});
    if (plain.ok) expect(plain.config.routes[0]!.forwardToken?.enabled).toBe(false);
  });

  it("warns when the route's upstream also gets the signed identity assertion", () => {
    const result = withRoute(
      { forwardToken: { enabled: true } },
      { identity: { assertion: { enabled: true, issuer: "https://auth.example.com", audience: "shop" } } },
    );
    const warning = result.ok ? result.warnings.find((w) => w.path === "routes[0].forwardToken.enabled") : undefined;
    expect(warning?.message).toMatch(/^this route's upstream also gets the signed identity assertion/);
  });

  it("counts the forwarded token's header among the credentials explain and request traces never show", () => {
    const result = withRoute({ forwardToken: { enabled: true, token: "id", header: "x-id-token" } });
    if (!result.ok) throw new Error(JSON.stringify(result));
    expect(credentialHeadersOf(result.config).has("x-id-token")).toBe(true);
  });

  it("warns when the client's Authorization header reaches upstreams elsewhere", () => {
    const result = withRoute({ forwardToken: { enabled: true } }, { identity: { forwardAuthorization: true } });
    expect(result.ok && result.warnings.map((w) => w.path)).toEqual(["routes[0].forwardToken.enabled"]);
  });

  it("refuses it on a public route and into an identity header", () => {
    expect(JSON.stringify(withRoute({ auth: "public", forwardToken: { enabled: true } }))).toContain(
      "routes[0].forwardToken.enabled",
    );
    expect(JSON.stringify(withRoute({ forwardToken: { enabled: true, header: "x-user-sub" } }))).toContain(
      "routes[0].forwardToken.header",
    );
  });
});
