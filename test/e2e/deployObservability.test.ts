// The Grafana dashboard and the alert rules query metrics a running Portcullis really exports:
// a stack (dev IdP, Portcullis with sessions in a real Redis, Envoy) is driven with an allowed API
// call, a denied one, a browser sent to login, a failed login callback and a refused back-channel
// logout, then every `portcullis_*` name in the dashboard's and the rules' expressions must be a
// family in /metrics, and the driven series must carry the labels the panels select on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { readMetric } from "../harness/readMetric.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";
import {
  alertExpressions,
  dashboardExpressions,
  exportedFamilies,
  familyOf,
  metricNames,
} from "../unit/deployPromql.ts";

describe("metrics behind deploy/grafana and deploy/prometheus", () => {
  let stack: Stack;
  let redis: TestRedis;
  let exposition: string;
  let families: Map<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ login: true, session: { store: "redis" }, config: { redis: { url: redis.url } } });
    const token = await stack.clientCredentialsToken(["api.read"]);
    expect((await stack.request("/api/items", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await stack.request("/api/items")).status).toBe(401);
    expect((await stack.request("/reports", { headers: { accept: "text/html" } })).status).toBe(302);
    // A callback without its login transaction cookie: a failed login (state_mismatch).
    expect(
      (await stack.request("/oauth2/callback?code=forged&state=forged", { headers: { accept: "text/html" } })).status,
    ).toBeGreaterThanOrEqual(400);
    // A logout token that is no JWT: refused (invalid), counted under provider "(unknown)".
    const logout = await httpsRequest({
      port: stack.envoyPort,
      ca: stack.ca,
      path: "/oauth2/backchannel_logout",
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "logout_token=not.a.jwt",
    });
    expect(logout.status).toBe(400);
    exposition = await stack.metrics();
    families = exportedFamilies(exposition);
  });

  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  const missing = (expressions: string[]) => {
    const histograms = new Set([...families].filter(([, type]) => type === "histogram").map(([name]) => name));
    const names = [...new Set(expressions.flatMap(metricNames))];
    expect(names.length).toBeGreaterThan(5);
    return names.filter((name) => !families.has(familyOf(name, histograms)));
  };

  it("exports every metric the Grafana dashboard queries", () => {
    expect(missing(dashboardExpressions())).toEqual([]);
  });

  it("exports every metric the alert rules query", () => {
    expect(missing(alertExpressions())).toEqual([]);
  });

  it("counts the driven checks and logins under the labels the panels and alerts select", () => {
    const at = (name: string, labels: Record<string, string>) => readMetric(exposition, name, labels);
    expect(
      at("portcullis_checks_total", { decision: "allow", route: "api", reason: "authenticated" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      at("portcullis_checks_total", { decision: "deny", route: "api", reason: "token_missing" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      at("portcullis_checks_total", { decision: "deny", route: "default", reason: "login_required" }),
    ).toBeGreaterThanOrEqual(1);
    expect(at("portcullis_check_duration_seconds_count", { decision: "allow" })).toBeGreaterThanOrEqual(1);
    expect(at("portcullis_check_duration_seconds_bucket", { decision: "deny", le: "+Inf" })).toBeGreaterThanOrEqual(2);
    expect(at("portcullis_logins_total", { provider: "demo", result: "started", reason: "ok" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(at("portcullis_logins_total", { result: "failed" })).toBeGreaterThanOrEqual(1);
    expect(at("portcullis_provider_ready", { provider: "demo" })).toBe(1);
    expect(at("portcullis_jwks_fetches_total", { provider: "demo", result: "ok" })).toBeGreaterThanOrEqual(1);
    expect(at("portcullis_token_cache_lookups_total", { result: "miss" })).toBeGreaterThanOrEqual(1);
    // Every reload result is exported from the start, so the reload alert's matcher has series to see.
    for (const result of ["ok", "invalid", "error"])
      expect(exposition).toMatch(new RegExp(`^portcullis_config_reloads_total\\{result="${result}"\\} 0$`, "m"));
    expect(at("portcullis_redis_up", {})).toBe(1);
    expect(at("portcullis_redis_operations_total", { operation: "session_read", result: "error" })).toBe(0);
    expect(at("portcullis_backchannel_logouts_total", { provider: "(unknown)", result: "invalid" })).toBe(1);
    expect(at("nodejs_eventloop_lag_p99_seconds", {})).toBeGreaterThan(0);
    expect(at("process_cpu_seconds_total", {})).toBeGreaterThan(0);
  });
});
