// The decision pipeline on plain data: routes, credentials, verifier outcomes and identity headers.
// The verifier here is a table of outcomes; real verification is covered by the oidc and e2e tests.
import { describe, expect, it } from "vitest";
import type { IdentityConfig, RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import type { Deny } from "../../src/core/Decision.ts";
import { Gate, type VerifyOutcome } from "../../src/core/Gate.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { VerifierFault } from "../../src/oidc/VerifierFault.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { headerOf } from "../harness/checkOutcome.ts";
import { DEFAULT_IDENTITY_HEADER_NAMES } from "../harness/defaultIdentityHeaderNames.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const identityConfig: IdentityConfig = {
  headers: DEFAULT_IDENTITY_HEADER_NAMES,
  roleClaims: ["roles", "realm_access.roles"],
  claimHeaders: {},
  context: { enabled: true, fields: { id: "sub", email: "email", scopes: "scopes", roles: "roles", exp: "exp" } },
  maxHeaderBytes: 4096,
  forwardAuthorization: false,
};

const routes: RouteConfig[] = [
  { name: "health", match: { hosts: [], path: "/healthz" }, auth: "public", providers: [] },
  { name: "admin", match: { hosts: ["api.example.com"], path: "/admin" }, auth: "required", providers: ["corp"] },
  {
    name: "api",
    match: { hosts: ["api.example.com", "*.apps.example.com"], path: "/api" },
    auth: "required",
    providers: [],
  },
];

const claims = { sub: "alice", email: "alice@example.com", roles: ["admin"], scope: "api:read", exp: 2_000_000_000 };

/** The routes above, the identity config above, and a verifier answering from `tokens`. */
function gateWith(tokens: Record<string, VerifyOutcome | Error>) {
  return gateOver({ routes, identity: identityConfig, tokens });
}

/** Requests in this file go to the API host. */
const API = { host: "api.example.com" } as const;

const good: VerifyOutcome = { ok: true, provider: "corp", claims, expiresAt: claims.exp };

describe("Gate.decide", () => {
  it("denies a request with no bearer token on a protected route with 401 and a bare Bearer challenge", async () => {
    const { gate } = gateWith({});
    const d = (await gate.decide(checkRequest("/api/items", {}, API))) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing", route: "api" });
    expect(headerOf(d, "www-authenticate")).toBe('Bearer realm="portcullis"');
  });

  it("allows a verified token and sets identity headers from its claims", async () => {
    const { gate } = gateWith({ good });
    const d = await gate.decide(checkRequest("/api/items", { authorization: "Bearer good" }, API));
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated", route: "api", provider: "corp" });
    expect(headerOf(d, "x-user-sub")).toBe("alice");
    expect(headerOf(d, "x-user-email")).toBe("alice@example.com");
    expect(headerOf(d, "x-user-roles")).toBe("admin");
    const ctx = JSON.parse(Buffer.from(headerOf(d, "x-user-context")!, "base64").toString("utf8"));
    expect(ctx).toEqual({
      id: "alice",
      email: "alice@example.com",
      scopes: ["api:read"],
      roles: ["admin"],
      exp: 2_000_000_000,
    });
  });

  it("never lists a header it sets among the headers to remove, and removes the owned ones it does not set", async () => {
    const { gate } = gateWith({
      nomail: { ok: true, provider: "corp", claims: { sub: "svc", exp: 2_000_000_000 }, expiresAt: 2_000_000_000 },
    });
    const d = await gate.decide(checkRequest("/api/items", { authorization: "Bearer nomail" }, API));
    if (d.kind !== "allow") throw new Error("expected allow");
    const set = d.setHeaders.map(([n]) => n);
    expect(set).toContain("x-user-sub");
    for (const n of set) expect(d.removeHeaders).not.toContain(n);
    expect(d.removeHeaders).toContain("x-user-email");
    expect(d.removeHeaders).toContain("x-user-roles");
  });

  it("removes the client's Authorization header from an authenticated request unless configured to forward it", async () => {
    const { gate } = gateWith({ good });
    const d = await gate.decide(checkRequest("/api/items", { authorization: "Bearer good" }, API));
    if (d.kind !== "allow") throw new Error("expected allow");
    expect(d.removeHeaders).toContain("authorization");
    const forwarding = new Gate({
      normalizePath,
      routes: new RouteTable(routes),
      identity: createIdentityHeaders(identityConfig),
      verifier: { verify: async () => good },
      forwardAuthorization: true,
    });
    const f = await forwarding.decide(checkRequest("/api/items", { authorization: "Bearer good" }, API));
    if (f.kind !== "allow") throw new Error("expected allow");
    expect(f.removeHeaders).not.toContain("authorization");
  });

  it("strips every owned header and every upstream-steering header on a public route", async () => {
    const { gate } = gateWith({});
    const steering = Object.fromEntries(DEFAULT_REMOVED_REQUEST_HEADERS.map((name) => [name, "evil"]));
    const d = await gate.decide(checkRequest("/healthz", { "x-user-sub": "attacker", ...steering }, API));
    expect(d).toMatchObject({ kind: "allow", reason: "public", setHeaders: [] });
    if (d.kind !== "allow") throw new Error("expected allow");
    expect([...d.removeHeaders].sort()).toEqual(
      [
        ...DEFAULT_REMOVED_REQUEST_HEADERS,
        "x-client-id",
        "x-user-context",
        "x-user-email",
        "x-user-roles",
        "x-user-sub",
      ].sort(),
    );
  });

  it("maps a verifier failure to its stable code with 401 invalid_token", async () => {
    const { gate } = gateWith({
      old: { ok: false, code: "token_expired", provider: "corp", detail: "exp in the past" },
    });
    const d = (await gate.decide(checkRequest("/api/items", { authorization: "Bearer old" }, API))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "token_expired", provider: "corp" });
    expect(headerOf(d, "www-authenticate")).toContain('error="invalid_token"');
    expect(JSON.parse(d.body)).toEqual({ error: "token_expired", error_description: "the token has expired" });
  });

  it("answers 503 when the provider keys are unavailable", async () => {
    const { gate } = gateWith({ t: { ok: false, code: "jwks_unavailable", detail: "fetch failed" } });
    const d = await gate.decide(checkRequest("/api/items", { authorization: "Bearer t" }, API));
    expect(d).toMatchObject({ kind: "deny", status: 503, code: "jwks_unavailable" });
    expect(headerOf(d, "www-authenticate")).toBeUndefined();
  });

  it("fails closed with internal_error when the verifier throws, without leaking the fault text", async () => {
    const { gate } = gateWith({ boom: new Error("secret detail eyJhbGci") });
    const d = (await gate.decide(checkRequest("/api/items", { authorization: "Bearer boom" }, API))) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 503, code: "internal_error", route: "api" });
    expect(d.body).not.toContain("secret");
    expect(d.detail).not.toContain("eyJhbGci");
  });

  it("answers an IdP that cannot be reached (introspection down) with 503 idp_unavailable, not internal_error", async () => {
    const { gate } = gateWith({
      opaque: new VerifierFault('token introspection for provider "corp": POST timed out', { unavailable: true }),
    });
    const d = (await gate.decide(checkRequest("/api/items", { authorization: "Bearer opaque" }, API))) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 503, code: "idp_unavailable", route: "api" });
  });

  it("answers a non-Bearer authorization scheme with the bare Bearer challenge (RFC 6750 §3.1)", async () => {
    const { gate, verifyCalls: calls } = gateWith({});
    const d = await gate.decide(checkRequest("/api/items", { authorization: "Basic YWxpY2U6cGFzcw==" }, API));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
    expect(headerOf(d, "www-authenticate")).toBe('Bearer realm="portcullis"');
    expect(calls).toHaveLength(0);
  });

  it("rejects a Bearer header with no token or characters outside b64token as malformed", async () => {
    const { gate, verifyCalls: calls } = gateWith({});
    for (const authorization of ["Bearer", "Bearer   ", "Bearer a b", 'Bearer tok"en']) {
      const d = await gate.decide(checkRequest("/api/items", { authorization }, API));
      expect(d, authorization).toMatchObject({ kind: "deny", status: 401, code: "token_malformed" });
    }
    expect(calls).toHaveLength(0);
  });

  it("denies an unknown host with route_not_found and never calls the verifier", async () => {
    const { gate, verifyCalls: calls } = gateWith({ good });
    const d = await gate.decide(
      checkRequest("/api/items", { authorization: "Bearer good" }, { host: "evil.example.net" }),
    );
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "route_not_found", route: null });
    expect(calls).toHaveLength(0);
  });

  it("denies an unmatched path", async () => {
    const { gate } = gateWith({ good });
    const d = await gate.decide(checkRequest("/other", { authorization: "Bearer good" }, API));
    expect(d).toMatchObject({ kind: "deny", code: "route_not_found" });
  });

  it("matches routes after normalising the path, so /healthz/../admin is the admin route", async () => {
    const { gate, verifyCalls: calls } = gateWith({ good });
    const d = await gate.decide(checkRequest("/healthz/../admin/users", { authorization: "Bearer good" }, API));
    expect(d).toMatchObject({ kind: "allow", route: "admin" });
    expect(calls[0]!.accepted).toEqual(["corp"]);
  });

  it("rejects a path with an encoded slash", async () => {
    const { gate } = gateWith({});
    const d = await gate.decide(checkRequest("/api%2F..%2Fadmin", {}, API));
    expect(d).toMatchObject({ kind: "deny", status: 400, code: "path_invalid" });
  });

  it("matches wildcard hosts", async () => {
    const { gate } = gateWith({ good });
    const d = await gate.decide(
      checkRequest("/api/items", { authorization: "Bearer good" }, { host: "shop.apps.example.com" }),
    );
    expect(d).toMatchObject({ kind: "allow", route: "api" });
  });

  it("keeps a credential's identity headers from its second check on: a token seen once is built for its one check, a cached one is never rebuilt", async () => {
    const identity = createIdentityHeaders(identityConfig);
    const built: Array<Readonly<Record<string, unknown>>> = [];
    const bob = { sub: "bob", exp: 2_000_000_000 };
    const outcomeOf = (token: string) =>
      token === "bob" ? ({ ok: true, provider: "corp", claims: bob, expiresAt: bob.exp } as const) : good;
    // As the token cache: a token verified once is answered from the cache, with the same claims object.
    const verified = new Set<string>();
    const gate = new Gate({
      normalizePath,
      routes: new RouteTable(routes),
      identity: {
        ownedHeaders: identity.ownedHeaders,
        build: (c) => (built.push(c), identity.build(c)),
        roles: identity.roles,
      },
      verifier: {
        verifyCached: (token) => (verified.has(token) ? outcomeOf(token) : undefined),
        verify: async (token) => (verified.add(token), outcomeOf(token)),
      },
    });
    const check = (token: string) => gate.decide(checkRequest("/api/items", { authorization: `Bearer ${token}` }, API));
    const first = await check("good");
    expect(built).toEqual([claims]);
    const second = await check("good");
    expect(built).toEqual([claims, claims]);
    const third = await check("good");
    expect(built).toEqual([claims, claims]);
    if (first.kind !== "allow" || second.kind !== "allow" || third.kind !== "allow") throw new Error("expected allow");
    expect(third.setHeaders).toEqual(first.setHeaders);
    expect(headerOf(third, "x-user-sub")).toBe("alice");
    const bobs = [await check("bob"), await check("bob"), await check("bob")];
    expect(built).toEqual([claims, claims, bob, bob]);
    expect(bobs.map((d) => headerOf(d, "x-user-sub"))).toEqual(["bob", "bob", "bob"]);
  });
});
