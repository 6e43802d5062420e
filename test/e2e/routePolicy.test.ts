// Route policy through the real Envoy and the real dev IdP: which rule a request matches (path
// forms, methods, normalisation, default deny) and what a rule requires (scopes, roles, claim
// trees, step-up). Asserts status, WWW-Authenticate, what the upstream received and the metrics.

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOA_PASSWORD, LOA_SECOND_FACTOR } from "../../src/demo/startDevIdp.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const route = (name: string, match: Record<string, unknown>, auth: string, require?: Record<string, unknown>) => ({
  name,
  match: { host: "localhost", ...match },
  auth,
  ...(require === undefined ? {} : { require }),
});

const ROUTES = [
  route("scoped", { path: "/scoped" }, "required", { scopes: ["api.read"] }),
  route("roles-any", { path: "/roles-any" }, "required", { roles: { anyOf: ["admin", "auditor"] } }),
  route("roles-all", { path: "/roles-all" }, "required", { roles: { allOf: ["admin", "user"] } }),
  route("claims", { path: "/claims" }, "required", {
    claims: {
      all: [
        { claim: "email", exists: true },
        { claim: "acr", oneOf: [LOA_PASSWORD, LOA_SECOND_FACTOR] },
        {
          any: [
            { claim: "roles", contains: "admin" },
            { claim: "org.tier", equals: "gold" },
          ],
        },
      ],
    },
  }),
  route("items-read", { path: "/items", methods: ["GET"] }, "public"),
  route("items-write", { path: "/items", methods: ["POST", "PUT"] }, "required"),
  route("exact", { pathExact: "/exact" }, "public"),
  route("admin", { path: "/admin" }, "required", { roles: ["admin"] }),
  route("public", { path: "/public" }, "public"),
  route("files-meta", { pathGlob: "/files/*/meta" }, "public"),
  route("docs", { pathGlob: "/docs/**" }, "public"),
  route("versioned-status", { pathRegex: "^/v[0-9]+/status$" }, "public"),
  route("secure", { path: "/secure" }, "required", { acr: [LOA_SECOND_FACTOR] }),
  route("mfa", { path: "/mfa" }, "required", { amr: ["otp"] }),
  route("fresh", { path: "/fresh" }, "required", { maxAge: 300 }),
  // Rules mode: no catch-all, so anything unmatched is denied (route_not_found).
];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ routes: ROUTES });
});

afterAll(async () => {
  await stack?.close();
});

interface Sent {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly json: unknown;
  /** What the upstream received for this request; undefined when it never got there. */
  readonly upstream:
    { readonly path: string; readonly headers: Readonly<Record<string, string | string[] | undefined>> } | undefined;
}

/** One request through Envoy, marked so the upstream's copy can be found. */
async function send(path: string, init: { token?: string; method?: string } = {}): Promise<Sent> {
  const marker = randomUUID();
  const headers: Record<string, string> = { "x-test-marker": marker };
  if (init.token !== undefined) headers["authorization"] = `Bearer ${init.token}`;
  const res = await stack.request(path, { method: init.method ?? "GET", headers });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, headers: res.headers, json: res.json, upstream };
}

const errorOf = (res: Sent) => (res.json as { error?: unknown } | undefined)?.error;
const challengeOf = (res: Sent) => String(res.headers["www-authenticate"] ?? "");

/** Status, denial code and whether the upstream saw it, in one comparable value. */
const outcome = (res: Sent) => ({
  status: res.status,
  error: errorOf(res) ?? null,
  reachedUpstream: res.upstream !== undefined,
});
const allowed = { status: 200, error: null, reachedUpstream: true };
const denied = (status: number, error: string) => ({ status, error, reachedUpstream: false });

const user = (
  name: string,
  scopes?: readonly string[],
  login?: Parameters<ReturnType<Stack["idp"]>["mintUserToken"]>[2],
) => stack.idp().mintUserToken(name, scopes, login);

describe("scopes", () => {
  it("refuses a token without the route's scope with 403 insufficient_scope naming the scope", async () => {
    const before = await stack.metric("portcullis_checks_total", {
      route: "scoped",
      decision: "deny",
      reason: "insufficient_scope",
    });
    const res = await send("/scoped/data", { token: await user("bob", ["openid", "api.write"]) });
    expect(outcome(res)).toEqual(denied(403, "insufficient_scope"));
    expect(challengeOf(res)).toMatch(/^Bearer /);
    expect(challengeOf(res)).toContain('error="insufficient_scope"');
    expect(challengeOf(res)).toContain('scope="api.read"');
    expect(
      await stack.metric("portcullis_checks_total", {
        route: "scoped",
        decision: "deny",
        reason: "insufficient_scope",
      }),
    ).toBe(before + 1);
  });

  it("refuses a machine token without the scope the same way", async () => {
    const res = await send("/scoped/data", { token: await stack.clientCredentialsToken(["api.write"]) });
    expect(outcome(res)).toEqual(denied(403, "insufficient_scope"));
    expect(challengeOf(res)).toContain('scope="api.read"');
  });

  it("lets a token with the scope through", async () => {
    const res = await send("/scoped/data", { token: await user("bob", ["openid", "api.read"]) });
    expect(outcome(res)).toEqual(allowed);
    expect(res.upstream?.headers["x-user-sub"]).toBe("bob");
    expect(
      await stack.metric("portcullis_checks_total", { route: "scoped", decision: "allow" }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("roles", () => {
  it("anyOf admits a user holding one of the roles (alice: admin) and refuses one holding none (bob: user)", async () => {
    expect(outcome(await send("/roles-any", { token: await user("alice") }))).toEqual(allowed);
    const bob = await send("/roles-any", { token: await user("bob") });
    expect(outcome(bob)).toEqual(denied(403, "requirement_failed"));
    // A failed requirement that is not a scope names no scope: there is none the client could ask for.
    expect(challengeOf(bob)).not.toContain("scope=");
  });

  it("allOf admits a user holding every role (alice) and refuses one missing one (bob)", async () => {
    const alice = await send("/roles-all", { token: await user("alice") });
    expect(outcome(alice)).toEqual(allowed);
    expect(String(alice.upstream?.headers["x-user-roles"]).split(",").sort()).toEqual(["admin", "user"]);
    expect(outcome(await send("/roles-all", { token: await user("bob") }))).toEqual(denied(403, "requirement_failed"));
  });
});

describe("a claims tree (all / any with equals, oneOf, contains, exists)", () => {
  const person = (claims: Record<string, unknown>) =>
    stack.signToken({ sub: "carol", email: "carol@example.com", acr: LOA_PASSWORD, roles: ["user"], ...claims });

  it("admits a user whose roles contain admin (alice)", async () => {
    expect(outcome(await send("/claims", { token: await user("alice") }))).toEqual(allowed);
  });

  it("refuses a user with neither branch of the `any` (bob)", async () => {
    expect(outcome(await send("/claims", { token: await user("bob") }))).toEqual(denied(403, "requirement_failed"));
  });

  it("admits through the other branch of the `any` (org.tier equals gold) and refuses silver", async () => {
    expect(outcome(await send("/claims", { token: await person({ org: { tier: "gold" } }) }))).toEqual(allowed);
    expect(outcome(await send("/claims", { token: await person({ org: { tier: "silver" } }) }))).toEqual(
      denied(403, "requirement_failed"),
    );
  });

  it("refuses when an `all` leaf fails although the `any` passes: acr not one of the list, or no email", async () => {
    expect(outcome(await send("/claims", { token: await user("alice", undefined, { acr: "urn:other:loa" }) }))).toEqual(
      denied(403, "requirement_failed"),
    );
    expect(outcome(await send("/claims", { token: await person({ email: undefined, roles: ["admin"] }) }))).toEqual(
      denied(403, "requirement_failed"),
    );
  });
});

describe("methods", () => {
  it("a GET-only rule answers GET; POST falls to the next rule, which asks for a token", async () => {
    expect(outcome(await send("/items/1"))).toEqual(allowed);
    const before = await stack.metric("portcullis_checks_total", { route: "items-write", reason: "token_missing" });
    const post = await send("/items/1", { method: "POST" });
    expect(outcome(post)).toEqual({ status: 401, error: "token_missing", reachedUpstream: false });
    expect(challengeOf(post)).toMatch(/^Bearer realm=/);
    expect(await stack.metric("portcullis_checks_total", { route: "items-write", reason: "token_missing" })).toBe(
      before + 1,
    );
    expect(outcome(await send("/items/1", { method: "POST", token: await user("bob") }))).toEqual(allowed);
  });

  it("a method no rule lists falls to the default deny", async () => {
    expect(outcome(await send("/items/1", { method: "DELETE", token: await user("alice") }))).toEqual(
      denied(403, "route_not_found"),
    );
  });
});

describe("path forms", () => {
  it("exact matches the whole path only", async () => {
    expect(outcome(await send("/exact"))).toEqual(allowed);
    expect(outcome(await send("/exact/"))).toEqual(denied(403, "route_not_found"));
    expect(outcome(await send("/exact/more"))).toEqual(denied(403, "route_not_found"));
  });

  it("a prefix matches on a segment boundary: /admin and /admin/x, never /adminX", async () => {
    expect(outcome(await send("/admin"))).toEqual({ status: 401, error: "token_missing", reachedUpstream: false });
    expect(outcome(await send("/admin/users"))).toEqual({
      status: 401,
      error: "token_missing",
      reachedUpstream: false,
    });
    expect(outcome(await send("/adminX"))).toEqual(denied(403, "route_not_found"));
    expect(outcome(await send("/adminX", { token: await user("alice") }))).toEqual(denied(403, "route_not_found"));
  });

  it("a glob: `*` is one segment, `**` any number", async () => {
    expect(outcome(await send("/files/report/meta"))).toEqual(allowed);
    expect(outcome(await send("/files/a/b/meta"))).toEqual(denied(403, "route_not_found"));
    // Envoy merges the slashes first: /files//meta is /files/meta, which has no middle segment.
    expect(outcome(await send("/files//meta"))).toEqual(denied(403, "route_not_found"));
    expect(outcome(await send("/docs/guide/intro/part-1"))).toEqual(allowed);
  });

  it("an anchored regex matches the whole path", async () => {
    expect(outcome(await send("/v12/status"))).toEqual(allowed);
    expect(outcome(await send("/v12/status/extra"))).toEqual(denied(403, "route_not_found"));
    expect(outcome(await send("/x/v12/status"))).toEqual(denied(403, "route_not_found"));
    expect(outcome(await send("/vX/status"))).toEqual(denied(403, "route_not_found"));
  });

  it("/public/../admin is /admin: the admin rule decides, not the public one", async () => {
    expect(outcome(await send("/public/../admin"))).toEqual({
      status: 401,
      error: "token_missing",
      reachedUpstream: false,
    });
    expect(outcome(await send("/public/../admin", { token: await user("bob") }))).toEqual(
      denied(403, "requirement_failed"),
    );
    const alice = await send("/public/%2e%2e/admin/panel", { token: await user("alice") });
    expect(outcome(alice)).toEqual(allowed);
    expect(alice.upstream?.path).toBe("/admin/panel");
  });

  it("a path no rule matches is denied by default with 403 route_not_found", async () => {
    const before = await stack.metric("portcullis_checks_total", { reason: "route_not_found" });
    const res = await send("/nowhere", { token: await user("alice") });
    expect(outcome(res)).toEqual(denied(403, "route_not_found"));
    expect(await stack.metric("portcullis_checks_total", { reason: "route_not_found" })).toBe(before + 1);
  });
});

describe("step-up for an API client (RFC 9470)", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("a token whose acr is not the required one gets 401 insufficient_user_authentication with acr_values", async () => {
    const before = await stack.metric("portcullis_checks_total", { route: "secure", reason: "step_up_required" });
    const res = await send("/secure", { token: await user("alice", undefined, { acr: LOA_PASSWORD, amr: ["pwd"] }) });
    expect(outcome(res)).toEqual(denied(401, "step_up_required"));
    expect(challengeOf(res)).toMatch(/^Bearer /);
    expect(challengeOf(res)).toContain('error="insufficient_user_authentication"');
    expect(challengeOf(res)).toContain(`acr_values="${LOA_SECOND_FACTOR}"`);
    expect(challengeOf(res)).not.toContain("max_age=");
    expect(await stack.metric("portcullis_checks_total", { route: "secure", reason: "step_up_required" })).toBe(
      before + 1,
    );
  });

  it("a token with the required acr passes", async () => {
    const res = await send("/secure", {
      token: await user("alice", undefined, { acr: LOA_SECOND_FACTOR, amr: ["pwd", "otp"] }),
    });
    expect(outcome(res)).toEqual(allowed);
  });

  it("a required amr entry: pwd alone gets 401 insufficient_user_authentication, pwd+otp passes", async () => {
    const weak = await send("/mfa", { token: await user("bob", undefined, { amr: ["pwd"] }) });
    expect(outcome(weak)).toEqual(denied(401, "step_up_required"));
    expect(challengeOf(weak)).toContain('error="insufficient_user_authentication"');
    expect(outcome(await send("/mfa", { token: await user("bob", undefined, { amr: ["pwd", "otp"] }) }))).toEqual(
      allowed,
    );
  });

  it("maxAge: a login older than it gets 401 with max_age, a recent one passes", async () => {
    const old = await send("/fresh", { token: await user("bob", undefined, { authTime: now() - 3600 }) });
    expect(outcome(old)).toEqual(denied(401, "step_up_required"));
    expect(challengeOf(old)).toContain('error="insufficient_user_authentication"');
    expect(challengeOf(old)).toContain('max_age="300"');
    expect(outcome(await send("/fresh", { token: await user("bob", undefined, { authTime: now() - 10 }) }))).toEqual(
      allowed,
    );
  });
});
