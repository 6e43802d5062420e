// The latency histograms of a running Portcullis behind real Envoy, with the dev IdP and sessions in
// a real Redis: after a browser login and a few checks, /metrics has the IdP calls (discovery, JWKS,
// the code exchange at the token endpoint) and the Redis operations timed under bounded labels, and
// each check's duration under its route's name, or "(none)" for a request no rule matched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import { readMetric } from "../harness/readMetric.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";

const TEST_TIMEOUT = 90_000;

describe("latency histograms through Envoy", () => {
  let browser: StartedBrowser;
  let redis: TestRedis;
  let stack: Stack;
  let running: StackWithBrowser<Stack> | undefined;
  let exposition: string;

  beforeAll(async () => {
    redis = await startRedis();
    running = await startWithBrowser(() =>
      startStack({ login: true, session: { store: "redis" }, config: { redis: { url: redis.url } } }),
    );
    ({ stack, browser } = running);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await loginThroughStack(page, stack.origin, "/hello", { user: "alice", secondFactor: false });
      // The session cookie on a second page load: a session read from Redis.
      expect((await page.goto(`${stack.origin}/hello`))?.status()).toBe(200);
    } finally {
      await context.close();
    }
    const token = await stack.clientCredentialsToken(["api.read"]);
    expect((await stack.request("/api/items", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await stack.request("/api/items")).status).toBe(401);
    exposition = await stack.metrics();
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await running?.close();
    await redis?.close();
  });

  const at = (name: string, labels: Record<string, string>) => readMetric(exposition, name, labels);
  const seriesLabels = (family: string, label: string) =>
    new Set([...exposition.matchAll(new RegExp(`^${family}_count\\{[^}]*${label}="([^"]*)"`, "gm"))].map((m) => m[1]));

  it("times the IdP calls by provider, call and outcome", () => {
    const idp = "portcullis_idp_request_duration_seconds";
    for (const call of ["discovery", "jwks_fetch", "code_exchange"]) {
      expect(at(`${idp}_count`, { provider: "demo", call, outcome: "ok" }), call).toBeGreaterThanOrEqual(1);
      expect(at(`${idp}_bucket`, { provider: "demo", call, outcome: "ok", le: "+Inf" }), call).toBe(
        at(`${idp}_count`, { provider: "demo", call, outcome: "ok" }),
      );
    }
    // One login, one code exchange.
    expect(at(`${idp}_count`, { call: "code_exchange" })).toBe(1);
    expect(seriesLabels(idp, "provider")).toEqual(new Set(["demo"]));
    expect(seriesLabels(idp, "outcome")).toEqual(new Set(["ok"]));
  });

  it("times the Redis operations by operation and outcome", () => {
    const redisOps = "portcullis_redis_operation_duration_seconds";
    expect(at(`${redisOps}_count`, { operation: "session_write", outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(at(`${redisOps}_count`, { operation: "session_read", outcome: "ok" })).toBeGreaterThanOrEqual(1);
    // Every timed operation is counted too.
    expect(at(`${redisOps}_count`, { operation: "session_write" })).toBeLessThanOrEqual(
      at("portcullis_redis_operations_total", { operation: "session_write" }),
    );
    expect(at(`${redisOps}_bucket`, { operation: "session_read", outcome: "ok", le: "1" })).toBe(
      at(`${redisOps}_count`, { operation: "session_read", outcome: "ok" }),
    );
  });

  it("observes each check's duration under its route's name", () => {
    const checks = "portcullis_check_duration_seconds";
    expect(at(`${checks}_count`, { decision: "allow", route: "api" })).toBe(1);
    expect(at(`${checks}_count`, { decision: "deny", route: "api" })).toBe(1);
    expect(at(`${checks}_count`, { decision: "allow", route: "default" })).toBeGreaterThanOrEqual(1);
    expect(at(`${checks}_count`, { decision: "deny", route: "default" })).toBeGreaterThanOrEqual(1);
    // As many duration observations as checks counted, under the same route labels.
    for (const route of ["api", "default"])
      expect(at(`${checks}_count`, { route })).toBe(at("portcullis_checks_total", { route }));
  });
});
