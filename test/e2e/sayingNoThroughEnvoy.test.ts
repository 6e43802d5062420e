// Saying no through the real Envoy, dev IdP and echo upstream: a deny rule answers with its own code
// and status (a blocked client, a retired API as 404), a negated claim check keeps a suspended
// caller out, a scope-string set check lets the right scopes in, and policy.defaults.require (MFA)
// holds on every non-public rule while a public one stays open.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    config: { policy: { defaults: { require: { amr: ["mfa"] } } } },
    routes: [
      {
        name: "retired",
        match: { host: "localhost", path: "/v1" },
        auth: "public",
        deny: [{ code: "api_retired", status: 404 }],
      },
      {
        name: "orders",
        match: { host: "localhost", path: "/orders" },
        auth: "required",
        require: {
          claims: {
            all: [{ claim: "scope", hasAll: ["orders.read"] }, { not: { claim: "groups", hasAny: ["suspended"] } }],
          },
        },
        deny: [{ code: "blocked_client", when: { clients: ["legacy-cli"] } }],
      },
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
      { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, claims: Record<string, unknown> | null) {
  const marker = randomUUID();
  const headers: Record<string, string> = { "x-test-marker": marker };
  if (claims !== null) headers["authorization"] = `Bearer ${await stack.signToken(claims)}`;
  const response = await stack.request(path, { headers });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

const person = { sub: "ada", client_id: "web", amr: ["pwd", "mfa"], scope: "openid orders.read orders.write" };

describe("saying no through Envoy", () => {
  it("answers a blocked client with the deny rule's code and 403, and counts policy_denied on the rule", async () => {
    const labels = { decision: "deny", reason: "policy_denied", route: "orders" };
    const before = await stack.metric("portcullis_checks_total", labels);
    const res = await send("/orders/7", { ...person, client_id: "legacy-cli" });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: "blocked_client" });
    expect(res.headers["www-authenticate"]).toContain('error="insufficient_scope"');
    expect(res.upstream).toBeUndefined();
    expect(await stack.metric("portcullis_checks_total", labels)).toBe(before + 1);
  });

  it("answers every request a deny rule without when matches with 404, credential or none", async () => {
    const res = await send("/v1/users", null);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: "api_retired" });
    expect(res.headers["www-authenticate"]).toBeUndefined();
    expect(res.upstream).toBeUndefined();
  });

  it("keeps a suspended caller out by a negated claim check and lets the same caller in without the group", async () => {
    const denied = await send("/orders/7", { ...person, groups: ["staff", "suspended"] });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ error: "requirement_failed" });
    const allowed = await send("/orders/7", { ...person, groups: ["staff"] });
    expect(allowed.status).toBe(200);
    expect(allowed.upstream?.headers["x-user-sub"]).toBe("ada");
  });

  it("reads the space-separated scope string as a set: a caller without orders.read is refused", async () => {
    const res = await send("/orders/7", { ...person, scope: "openid orders.reader" });
    expect(res.status).toBe(403);
    expect(res.upstream).toBeUndefined();
  });

  it("asks policy.defaults.require (MFA) on every non-public rule and nothing on a public one", async () => {
    const noMfa = await send("/api/things", { ...person, amr: ["pwd"] });
    expect(noMfa.status).toBe(401);
    expect(JSON.parse(noMfa.body)).toMatchObject({ error: "step_up_required" });
    expect((await send("/api/things", person)).status).toBe(200);
    expect((await send("/public/page", null)).status).toBe(200);
  });
});
