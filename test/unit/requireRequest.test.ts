// Conditions on the request as requirements: `require.request` (and the policy defaults') refuses a
// request that fails them with 403 request_condition_failed before any credential is read, instead
// of letting it fall through to the next rule; a deny rule's `when.request` joins its caller parts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { runExplain } from "../../src/cli/runExplain.ts";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { renderEnvoyExtAuthzFilter } from "../../src/app/renderEnvoyExtAuthzFilter.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { compileRoutes } from "../../src/core/compileRoutes.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createRecordingTrace } from "../../src/core/GateTrace.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";

const PROVIDERS = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };
const token = (claims: Record<string, unknown>): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000, ...claims },
  expiresAt: 2_000_000_000,
});
const TOKENS = { staff: token({ groups: ["staff"] }), contractor: token({ groups: ["contractors"] }) };
const bearer = (name: string) => ({ authorization: `Bearer ${name}` });
const office = ["10.0.0.0/8"];

function config(policy: Record<string, unknown>, routes: unknown[]) {
  const parsed = parseCheckedConfig({ providers: PROVIDERS, policy, routes });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.map(formatIssue)));
  return parsed.config;
}

function gateFor(policy: Record<string, unknown>, routes: unknown[], clock = createManualClock()) {
  const { routes: parsedRoutes, policy: parsedPolicy } = config(policy, routes);
  return gateOver({ routes: parsedRoutes, policy: parsedPolicy, tokens: TOKENS, clock });
}

const admin = {
  name: "admin",
  match: { path: "/admin" },
  auth: "required",
  require: { request: { sourceAddresses: office } },
};
const fallback = { name: "rest", match: { path: "/" }, auth: "public" };

describe("require.request", () => {
  it("refuses a request from outside the blocks with 403 request_condition_failed, never the next rule", async () => {
    const { gate, verifyCalls } = gateFor({}, [admin, fallback]);
    const d = await gate.decide(checkRequest("/admin/x", bearer("staff"), { sourceAddress: "192.0.2.1" }));
    expect(d).toMatchObject({ kind: "deny", route: "admin", status: 403, code: "request_condition_failed" });
    if (d.kind !== "deny") throw new Error("deny");
    expect(JSON.parse(d.body)).toEqual({
      error: "request_condition_failed",
      error_description: "this request does not meet the route's conditions",
    });
    // No challenge: no token or login would help.
    expect(d.headers?.some(([name]) => name === "www-authenticate")).toBe(false);
    expect(d.detail).toBe("require.request: source does not match");
    // Judged before the credential: the token was never verified.
    expect(verifyCalls).toEqual([]);
  });

  it("refuses before asking for a credential, and lets a caller from inside the blocks on to the credential", async () => {
    const { gate } = gateFor({}, [admin, fallback]);
    const outside = await gate.decide(checkRequest("/admin/x", {}, { sourceAddress: "192.0.2.1" }));
    expect(outside).toMatchObject({ kind: "deny", status: 403, code: "request_condition_failed" });
    const inside = await gate.decide(checkRequest("/admin/x", {}, { sourceAddress: "10.1.2.3" }));
    expect(inside).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
    const allowed = await gate.decide(checkRequest("/admin/x", bearer("staff"), { sourceAddress: "10.1.2.3" }));
    expect(allowed.kind).toBe("allow");
  });

  it("holds the policy defaults' request conditions on every non-public rule, beside the rule's own", async () => {
    const clock = createManualClock(Date.parse("2026-03-28T12:00:00Z")); // a Saturday
    const weekdays = { days: ["mon", "tue", "wed", "thu", "fri"], timeZone: "UTC" };
    const { gate } = gateFor(
      { defaults: { require: { request: { time: weekdays } } } },
      [admin, { name: "api", match: { path: "/api" }, auth: "required" }, fallback],
      clock,
    );
    const api = await gate.decide(checkRequest("/api/x", bearer("staff")));
    expect(api).toMatchObject({ kind: "deny", route: "api", code: "request_condition_failed" });
    if (api.kind === "deny") expect(api.detail).toBe("require.request: time does not match");
    expect((await gate.decide(checkRequest("/public"))).kind).toBe("allow");
    clock.advance(2 * 86_400_000); // Monday
    expect((await gate.decide(checkRequest("/api/x", bearer("staff")))).kind).toBe("allow");
    // Both hold on a rule with its own: the defaults' time and the rule's address.
    const admin1 = await gate.decide(checkRequest("/admin/x", bearer("staff"), { sourceAddress: "192.0.2.1" }));
    expect(admin1).toMatchObject({ kind: "deny", code: "request_condition_failed" });
  });

  it("names the failed condition in explain's trace", async () => {
    const { gate } = gateFor({}, [admin, fallback]);
    const trace = createRecordingTrace();
    await gate.explain(checkRequest("/admin/x", {}, { sourceAddress: "192.0.2.1" }), trace);
    expect(trace.entries).toContainEqual({
      step: "requirement",
      outcome: "failed",
      detail: "request: source does not match",
    });
  });

  it("check-config refuses request requirements on a public rule, as any requirement", () => {
    const parsed = parseCheckedConfig({
      providers: PROVIDERS,
      routes: [
        { name: "open", match: { path: "/" }, auth: "public", require: { request: { sni: ["a.example.com"] } } },
      ],
    });
    expect(parsed.ok ? [] : parsed.problems.map(formatIssue)).toEqual([
      expect.stringMatching(/^routes\[0\]\.require: has requirements but auth is public/),
    ]);
  });
});

describe("deny rules' when.request", () => {
  const routes = [
    {
      name: "reports",
      match: { path: "/reports" },
      auth: "required",
      deny: [
        { code: "outside_network", when: { groups: ["contractors"], request: { sourceAddresses: ["192.0.2.0/24"] } } },
      ],
    },
  ];

  it("denies only a caller the other parts name whose request meets the conditions", async () => {
    const { gate } = gateFor({}, routes);
    const at = (name: string, sourceAddress: string) =>
      gate.decide(checkRequest("/reports/q1", bearer(name), { sourceAddress }));
    const denied = await at("contractor", "192.0.2.9");
    expect(denied).toMatchObject({ kind: "deny", status: 403, code: "policy_denied" });
    if (denied.kind === "deny") expect(JSON.parse(denied.body).error).toBe("outside_network");
    expect((await at("contractor", "10.0.0.1")).kind).toBe("allow");
    expect((await at("staff", "192.0.2.9")).kind).toBe("allow");
  });
});

describe("what Envoy must send for request conditions", () => {
  it("adds x-forwarded-for to allowed_headers only with trusted hops and an address condition", () => {
    const names = (policy: Record<string, unknown>, routes: unknown[]) =>
      envoyAllowedHeaders(config(policy, routes)).map(({ name }) => name);
    expect(names({ trustedForwardedHops: 1 }, [admin])).toContain("x-forwarded-for");
    expect(names({}, [admin])).not.toContain("x-forwarded-for");
    expect(names({ trustedForwardedHops: 1 }, [fallback])).not.toContain("x-forwarded-for");
  });

  it("adds the headers require.request and the defaults' conditions read", () => {
    const headers = envoyAllowedHeaders(
      config({ defaults: { require: { request: { headers: [{ name: "X-Tenant", present: true }] } } } }, [
        { ...admin, require: { request: { headers: [{ name: "x-region", equals: "eu" }] } } },
      ]),
    );
    expect(headers).toContainEqual({
      name: "x-tenant",
      why: "policy.defaults.require.request.headers: a request condition",
    });
    expect(headers).toContainEqual({
      name: "x-region",
      why: "routes.admin.require.request.headers: a request condition",
    });
  });

  it("asks Envoy for the TLS session when an SNI condition is configured, and only then", () => {
    const withSni = config({}, [{ name: "a", match: { sni: ["api.example.com"] }, auth: "required" }]);
    expect(renderEnvoyExtAuthzFilter(withSni)).toContain("include_tls_session: true");
    expect(renderEnvoyExtAuthzFilter(config({}, [admin]))).not.toContain("include_tls_session");
  });
});

describe("explain: request conditions as requirements", () => {
  let dir = "";
  let file = "";
  const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
  // Today and tomorrow (UTC) left out: closed however long the test runs.
  const closed = days.filter((_, i) => i !== new Date().getUTCDay() && i !== (new Date().getUTCDay() + 1) % 7);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-require-request-"));
    file = join(dir, "config.yaml");
    writeFileSync(
      file,
      `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api], algorithms: [RS256], jwksUri: "https://idp.example.com/jwks" }
routes:
  - { name: batch, match: { path: /api, time: { days: [${closed.join(", ")}], timeZone: UTC } }, auth: public }
  - name: api
    match: { path: /api }
    auth: required
    require: { request: { headers: [{ name: x-tenant, present: true }] } }
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the time condition a rule fails, and the request condition a requirement fails", async () => {
    let stdout = "";
    const code = await runExplain(["--config", file, "GET", "https://app.example.com/api/x"], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stdout += t) },
      env: {},
    });
    expect(stdout).toContain("batch: time does not match");
    expect(stdout).toContain("request: headers does not match");
    expect(stdout).toContain("403 request_condition_failed");
    expect(code, stdout).toBe(3);
  });
});

describe("check-config --explain-routes: request conditions", () => {
  it("shows a rule's match conditions, its require.request, a deny rule's when.request and the defaults'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-routes-conditions-"));
    const path = join(dir, "config.yaml");
    writeFileSync(
      path,
      `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
policy: { defaults: { require: { request: { sni: ["*.example.com"] } } } }
routes:
  - name: v2
    match: { path: /api, headers: [{ name: x-api-version, equals: "2" }], time: { days: [mon, tue], from: "09:00", to: "18:00", timeZone: Europe/Berlin } }
    auth: required
    require: { request: { sourceAddresses: [10.0.0.0/8], query: [{ name: debug, present: false }] } }
    deny: [{ code: weekend_guests, when: { groups: [guests], request: { time: { days: [sat, sun], timeZone: UTC } } } }]
`,
    );
    let output = "";
    const io = { write: (t: string) => (output += t) };
    const code = await runCheckConfig(["--config", path, "--explain-routes"], { stdout: io, stderr: io, env: {} });
    rmSync(dir, { recursive: true, force: true });
    expect(code, output).toBe(0);
    expect(output).toContain('match: header x-api-version = "2" and time mon,tue 09:00-18:00 Europe/Berlin');
    expect(output).toContain("request: query debug absent and source in 10.0.0.0/8");
    expect(output).toContain(
      'deny[0]: weekend_guests (403) when group any of "guests" and request time sat,sun all day UTC',
    );
    expect(output).toContain("defaults request: sni one of *.example.com");
  });
});

describe("a rule without request conditions", () => {
  it("compiles to no condition test and no request requirement, so the Check path does no work for them", () => {
    const parsed = config({ defaults: { require: { amr: ["mfa"] } } }, [
      { name: "plain", match: { path: "/" }, auth: "required", require: { scopes: ["a"] } },
    ]);
    const rules = compileRoutes(parsed.routes, parsed.policy);
    expect(rules[0]?.conditions).toBeUndefined();
    expect(rules[0] && "requestRequirement" in rules[0].route).toBe(false);
  });
});
