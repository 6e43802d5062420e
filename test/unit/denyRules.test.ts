// Saying no on the Check path: `routes[].deny` answers with the rule's own code and status (before
// `require`, for every matched request or for callers its `when` names), shadow deny rules only
// count, and `policy.defaults.require` holds on every non-public rule beside its own requirements.
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createRecordingTrace } from "../../src/core/GateTrace.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const PROVIDERS = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };

function gateFor(policy: Record<string, unknown>, routes: unknown[]) {
  const parsed = parseCheckedConfig({ providers: PROVIDERS, policy, routes });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return gateOver({ routes: parsed.config.routes, policy: parsed.config.policy, tokens: TOKENS }).gate;
}

const token = (claims: Record<string, unknown>): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000, ...claims },
  expiresAt: 2_000_000_000,
});
const TOKENS = {
  reader: token({ client_id: "web", scope: "orders.read", groups: ["staff"], amr: ["pwd"] }),
  legacy: token({ client_id: "legacy-cli", scope: "orders.read" }),
  suspended: token({ client_id: "web", scope: "orders.read orders.write", groups: ["staff", "suspended"] }),
  mfa: token({ client_id: "web", scope: "orders.read", amr: ["pwd", "mfa"] }),
};
const bearer = (name: string) => ({ authorization: `Bearer ${name}` });
const header = (d: { headers?: ReadonlyArray<readonly [string, string]> }, name: string) =>
  d.headers?.find(([n]) => n === name)?.[1];

const blocking = [
  {
    name: "orders",
    match: { path: "/orders" },
    auth: "required",
    require: { scopes: ["orders.write"] },
    deny: [
      { code: "blocked_client", when: { clients: ["legacy-cli"] } },
      { code: "account_suspended", status: 401, when: { groups: ["suspended"] } },
    ],
  },
  { name: "gone", match: { path: "/v1" }, auth: "public", deny: [{ code: "api_retired", status: 404 }] },
];

describe("routes[].deny", () => {
  it("answers a blocked client with the rule's code, 403 and the Bearer challenge, before require is read", async () => {
    const d = await gateFor({}, blocking).decide(checkRequest("/orders/1", bearer("legacy")));
    expect(d).toMatchObject({ kind: "deny", route: "orders", code: "policy_denied", status: 403 });
    if (d.kind !== "deny") throw new Error("deny");
    expect(JSON.parse(d.body)).toEqual({
      error: "blocked_client",
      error_description: "access to this route is denied by policy",
    });
    expect(header(d, "www-authenticate")).toContain('error="insufficient_scope"');
    expect(d.detail).toBe("deny rule deny[0] blocked_client (status 403)");
  });

  it("answers 401 with invalid_token where the rule says 401", async () => {
    const d = await gateFor({}, blocking).decide(checkRequest("/orders/1", bearer("suspended")));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "policy_denied" });
    if (d.kind !== "deny") throw new Error("deny");
    expect(JSON.parse(d.body).error).toBe("account_suspended");
    expect(header(d, "www-authenticate")).toContain('error="invalid_token"');
  });

  it("lets a caller no deny rule names go on to the route's requirements", async () => {
    const d = await gateFor({}, blocking).decide(checkRequest("/orders/1", bearer("reader")));
    expect(d).toMatchObject({ kind: "deny", code: "insufficient_scope", status: 403 });
  });

  it("denies every request a rule without when matches, before any credential, with 404 and no challenge", async () => {
    const d = await gateFor({}, blocking).decide(checkRequest("/v1/users", {}));
    expect(d).toMatchObject({ kind: "deny", route: "gone", status: 404, code: "policy_denied" });
    if (d.kind !== "deny") throw new Error("deny");
    expect(JSON.parse(d.body).error).toBe("api_retired");
    expect(header(d, "www-authenticate")).toBeUndefined();
  });

  it("shows a deny-all rule as the deny step of the explain trace, with no credential step", async () => {
    const trace = createRecordingTrace();
    await gateFor({}, blocking).explain(checkRequest("/v1/users", bearer("reader")), trace);
    expect(trace.entries).toContainEqual({
      step: "deny",
      outcome: "api_retired",
      detail: "deny[0] applies to every request the route matches",
    });
    expect(trace.entries.some((e) => e.step === "credential")).toBe(false);
  });

  it("never denies an anonymous caller by a when on an optional route (nothing to read)", async () => {
    const gate = gateFor({}, [
      {
        name: "feed",
        match: { path: "/feed" },
        auth: "optional",
        deny: [{ code: "blocked", when: { clients: ["legacy-cli"] } }],
      },
    ]);
    expect(await gate.decide(checkRequest("/feed", {}))).toMatchObject({ kind: "allow", reason: "anonymous" });
    expect(await gate.decide(checkRequest("/feed", bearer("legacy")))).toMatchObject({ kind: "deny", status: 403 });
  });

  it("in shadow mode counts the would-be denial as policy_denied and lets the next rule decide", async () => {
    const gate = gateFor({}, [
      {
        name: "block-legacy",
        mode: "shadow",
        match: { path: "/orders" },
        auth: "required",
        deny: [{ code: "blocked_client", when: { clients: ["legacy-cli"] } }],
      },
      { name: "orders", match: { path: "/orders" }, auth: "required" },
    ]);
    const d = await gate.decide(checkRequest("/orders", bearer("legacy")));
    expect(d).toMatchObject({ kind: "allow", route: "orders" });
    expect(d.shadowDenials).toEqual([{ route: "block-legacy", code: "policy_denied" }]);
    expect((await gate.decide(checkRequest("/orders", bearer("reader")))).shadowDenials).toBeUndefined();
  });

  it("counts a public shadow deny-all rule's would-be denial of every request it matches", async () => {
    const gate = gateFor({}, [
      {
        name: "close-v1",
        mode: "shadow",
        match: { path: "/v1" },
        auth: "public",
        deny: [{ code: "api_retired", status: 404 }],
      },
      { name: "v1", match: { path: "/v1" }, auth: "public" },
    ]);
    const d = await gate.decide(checkRequest("/v1/users", {}));
    expect(d).toMatchObject({ kind: "allow", route: "v1", reason: "public" });
    expect(d.shadowDenials).toEqual([{ route: "close-v1", code: "policy_denied" }]);
  });

  it("shows each deny rule and each claim operator's outcome in the explain trace", async () => {
    const gate = gateFor({}, [
      {
        name: "orders",
        match: { path: "/orders" },
        auth: "required",
        require: {
          claims: {
            all: [{ claim: "scope", hasAll: ["orders.read"] }, { not: { claim: "groups", hasAny: ["suspended"] } }],
          },
        },
        deny: [{ code: "blocked_client", when: { clients: ["legacy-cli"] } }],
      },
    ]);
    const trace = createRecordingTrace();
    await gate.explain(checkRequest("/orders", bearer("suspended")), trace);
    expect(trace.entries).toContainEqual({ step: "requirement", outcome: "met", detail: "deny[0] blocked_client" });
    expect(trace.entries).toContainEqual({
      step: "requirement",
      outcome: "failed",
      detail: "claims: not(groups hasAny)",
    });
  });
});

describe("policy.defaults.require", () => {
  const policy = { defaults: { require: { scopes: ["orders.read"], amr: ["mfa"] } } };

  it("holds on every non-public rule beside its own: scopes add up in the challenge", async () => {
    const gate = gateFor(policy, [
      { name: "orders", match: { path: "/orders" }, auth: "required", require: { scopes: ["orders.write"] } },
    ]);
    const d = await gate.decide(checkRequest("/orders", bearer("mfa")));
    expect(d).toMatchObject({ kind: "deny", code: "insufficient_scope" });
    expect(header(d as { headers?: ReadonlyArray<readonly [string, string]> }, "www-authenticate")).toContain(
      'scope="orders.read orders.write"',
    );
  });

  it("asks for the step-up it names (MFA) and lets a caller who meets both through", async () => {
    const gate = gateFor(policy, [{ name: "orders", match: { path: "/orders" }, auth: "required" }]);
    expect(await gate.decide(checkRequest("/orders", bearer("reader")))).toMatchObject({
      kind: "deny",
      code: "step_up_required",
      status: 401,
    });
    expect(await gate.decide(checkRequest("/orders", bearer("mfa")))).toMatchObject({ kind: "allow", route: "orders" });
  });

  it("is not asked on a public rule, nor on a rule that writes defaults: false", async () => {
    const gate = gateFor(policy, [
      { name: "open", match: { path: "/open" }, auth: "public" },
      { name: "legacy", match: { path: "/legacy" }, auth: "required", defaults: false },
    ]);
    expect(await gate.decide(checkRequest("/open", {}))).toMatchObject({ kind: "allow", reason: "public" });
    expect(await gate.decide(checkRequest("/legacy", bearer("reader")))).toMatchObject({ kind: "allow" });
  });

  it("holds on the catch-all rule whitelist mode appends", async () => {
    const gate = gateFor({ mode: "whitelist", ...policy }, [{ name: "health", match: { pathExact: "/healthz" } }]);
    expect(await gate.decide(checkRequest("/anything", bearer("reader")))).toMatchObject({
      kind: "deny",
      route: "default",
      code: "step_up_required",
    });
    expect(await gate.decide(checkRequest("/anything", bearer("mfa")))).toMatchObject({
      kind: "allow",
      route: "default",
    });
  });

  it("checks its caller parts before the rule's scopes, so a forbidden caller is not asked for scopes", async () => {
    const gate = gateFor({ defaults: { require: { clients: ["web"] } } }, [
      { name: "orders", match: { path: "/orders" }, auth: "required", require: { scopes: ["orders.admin"] } },
    ]);
    const d = await gate.decide(checkRequest("/orders", bearer("legacy")));
    expect(d).toMatchObject({ kind: "deny", code: "requirement_failed" });
    expect((d as { detail: string }).detail).toBe(
      "defaults clients: the token's client is not one of the route's clients",
    );
  });
});
