// portcullis_check_duration_seconds by decision and route: the route label is a configured route's
// name, or "(none)" when no rule matched; never the request's path or host.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createCheckObserver } from "../../src/app/createCheckObserver.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createMetrics } from "../../src/observability/Metrics.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { readMetric } from "../harness/readMetric.ts";

const routes: RouteConfig[] = [
  { name: "api", match: { hosts: [], path: "/api" }, auth: "required", providers: [] },
  { name: "docs", match: { hosts: [], path: "/docs" }, auth: "public", providers: [] },
];
const reader: VerifyOutcome = {
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000 },
  expiresAt: 2_000_000_000,
};

describe("check duration by route", () => {
  it("observes each check under its decision and the matched route's name, unmatched ones under (none)", async () => {
    const { gate } = gateOver({ routes, tokens: { reader } });
    const metrics = createMetrics();
    const observer = createCheckObserver(metrics, pino({ level: "silent" }));
    const check = async (path: string, headers: Record<string, string>, seconds: number) => {
      const request = checkRequest(path, headers);
      observer.checked(request, await gate.decide(request), seconds);
    };
    await check("/api/items", { authorization: "Bearer reader" }, 0.0004);
    await check("/api/items", { authorization: "Bearer reader" }, 0.0004);
    await check("/api/items", {}, 0.0002);
    await check("/docs/intro", {}, 0.003);
    await check("/attacker-chosen-path", {}, 0.0001);
    const text = await metrics.registry.metrics();
    const at = (name: string, labels: Record<string, string>) => readMetric(text, name, labels);
    expect(at("portcullis_check_duration_seconds_count", { decision: "allow", route: "api" })).toBe(2);
    expect(at("portcullis_check_duration_seconds_count", { decision: "deny", route: "api" })).toBe(1);
    expect(at("portcullis_check_duration_seconds_count", { decision: "allow", route: "docs" })).toBe(1);
    expect(at("portcullis_check_duration_seconds_count", { route: "(none)" })).toBe(1);
    expect(at("portcullis_check_duration_seconds_bucket", { decision: "allow", route: "api", le: "0.0005" })).toBe(2);
    expect(at("portcullis_check_duration_seconds_bucket", { decision: "allow", route: "docs", le: "0.0025" })).toBe(0);
    expect(at("portcullis_check_duration_seconds_sum", { decision: "allow", route: "docs" })).toBeCloseTo(0.003);
    // Only configured names and the fixed "(none)": the path never becomes a label value.
    const routeLabels = new Set(
      [...text.matchAll(/^portcullis_check_duration_seconds_count\{.*route="([^"]*)"/gm)].map((m) => m[1]),
    );
    expect(routeLabels).toEqual(new Set(["api", "docs", "(none)"]));
    expect(text).not.toContain("attacker-chosen-path");
  });
});
