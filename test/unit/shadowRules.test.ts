// Shadow rules (`routes[].mode: shadow`): evaluated and their would-be denials recorded, while the
// next matching rule decides the request; counted in portcullis_shadow_denials_total and logged.
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createCheckObserver } from "../../src/app/createCheckObserver.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createRecordingTrace } from "../../src/core/GateTrace.ts";
import { createMetrics } from "../../src/observability/Metrics.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";

const adminRole = { ...NO_REQUIREMENTS, roles: { anyOf: ["admin"], allOf: [] } };
const routes: RouteConfig[] = [
  {
    name: "api-strict",
    match: { hosts: [], path: "/api" },
    auth: "required",
    providers: [],
    require: adminRole,
    mode: "shadow",
  },
  { name: "api", match: { hosts: [], path: "/api" }, auth: "required", providers: [] },
  { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
];
const outcome = (roles: string[]): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { sub: "alice", roles, exp: 2_000_000_000 },
  expiresAt: 2_000_000_000,
});
const tokens = { admin: outcome(["admin"]), reader: outcome(["reader"]) };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("shadow rules", () => {
  it("records a shadow rule's would-be denial and lets the next matching rule decide", async () => {
    const { gate } = gateOver({ routes, tokens });
    const d = await gate.decide(checkRequest("/api/items", bearer("reader")));
    expect(d).toMatchObject({ kind: "allow", route: "api", reason: "authenticated" });
    expect(d.shadowDenials).toEqual([{ route: "api-strict", code: "requirement_failed" }]);
  });

  it("records nothing when the shadow rule's requirements pass", async () => {
    const { gate } = gateOver({ routes, tokens });
    const d = await gate.decide(checkRequest("/api/items", bearer("admin")));
    expect(d).toMatchObject({ kind: "allow", route: "api" });
    expect(d.shadowDenials).toBeUndefined();
  });

  it("records the would-be denial of a request the next rule denies too, with that rule's answer", async () => {
    const { gate } = gateOver({ routes, tokens });
    const d = await gate.decide(checkRequest("/api/items", {}));
    expect(d).toMatchObject({ kind: "deny", route: "api", code: "token_missing", status: 401 });
    expect(d.shadowDenials).toEqual([{ route: "api-strict", code: "token_missing" }]);
  });

  it("evaluates no shadow rule a request does not match", async () => {
    const { gate } = gateOver({ routes, tokens });
    const d = await gate.decide(checkRequest("/other", {}));
    expect(d).toMatchObject({ kind: "allow", route: "open", reason: "public" });
    expect(d.shadowDenials).toBeUndefined();
  });

  it("shows the shadow rule and its would-be answer in the explain trace", async () => {
    const { gate } = gateOver({ routes, tokens });
    const trace = createRecordingTrace();
    await gate.explain(checkRequest("/api/items", bearer("reader")), trace);
    expect(trace.entries).toContainEqual({ step: "rule", outcome: "shadow", detail: "api-strict" });
    expect(trace.entries).toContainEqual({ step: "rule", outcome: "matches", detail: "api" });
    expect(trace.entries).toContainEqual({ step: "shadow", outcome: "requirement_failed", detail: "route api-strict" });
  });

  it("counts portcullis_shadow_denials_total by route and code and logs the route and code, never the token", async () => {
    const { gate } = gateOver({ routes, tokens });
    const metrics = createMetrics();
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line));
        done();
      },
    });
    const observer = createCheckObserver(metrics, pino({ level: "info" }, sink));
    const request = checkRequest("/api/items", bearer("reader"));
    observer.checked(request, await gate.decide(request), 0.001);
    observer.checked(request, await gate.decide(request), 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('portcullis_shadow_denials_total{route="api-strict",code="requirement_failed"} 2');
    await new Promise<void>((resolve) => setImmediate(resolve));
    const shadowLines = lines.filter((l) => l["msg"] === "shadow rule would deny");
    expect(shadowLines).toHaveLength(2);
    expect(shadowLines[0]).toMatchObject({
      route: "api-strict",
      code: "requirement_failed",
      decidedBy: "api",
      decision: "allow",
    });
    expect(JSON.stringify(shadowLines)).not.toContain("reader");
  });
});
