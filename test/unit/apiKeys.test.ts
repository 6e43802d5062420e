// API keys for legacy clients through the real Check pipeline (parseConfig → buildCheckPipeline →
// gate): a configured key's digest admits its client as a machine principal on routes that opt in,
// from the header or the query parameter, which never reach the upstream; an unknown key is refused
// with api_key_invalid, never echoed; requirements apply; a reload swaps the keys.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { buildCheckPipeline, type CheckPipeline } from "../../src/app/buildCheckPipeline.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { Allow, Decision } from "../../src/core/Decision.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { headerOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";

const REPORTS_KEY = "rk_9f2c1d7e0a5b4c3d2e1f0a9b8c7d6e5f";
const BILLING_KEY = "bk_0123456789abcdefghijklmnopqrstuv";
const hex = (key: string) => createHash("sha256").update(key).digest("hex");
const b64url = (key: string) => createHash("sha256").update(key).digest("base64url");

const ROUTES = [
  {
    name: "reports",
    match: { path: "/reports" },
    auth: "required",
    apiKeys: true,
    require: { scopes: ["reports:read"] },
  },
  { name: "admin", match: { path: "/admin" }, auth: "required", apiKeys: true, require: { roles: ["admin"] } },
  { name: "api", match: { path: "/api" }, auth: "required" },
];

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function keysConfig(keys: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { enabled: true, header: "x-api-key", queryParameter: "api_key", keys };
}

const KEYS = [
  { clientId: "reports-cron", sha256: hex(REPORTS_KEY), scopes: ["reports:read"], roles: ["auditor"] },
  { clientId: "billing-legacy", sha256: b64url(BILLING_KEY), roles: ["admin"] },
];

function pipelineWith(apiKeys: Record<string, unknown>, previous?: CheckPipeline): CheckPipeline {
  const result = parseConfig({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: ROUTES,
    apiKeys,
  });
  if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
  const pipeline = buildCheckPipeline(result.config, createLogger("silent"), previous ? { previous } : {});
  cleanups.push(() => pipeline.registry.close());
  return pipeline;
}

const decide = (pipeline: CheckPipeline, path: string, headers: Record<string, string> = {}): Promise<Decision> =>
  pipeline.gate.decide(checkRequest(path, headers));

describe("API keys", () => {
  it("admits a key in the header as its machine client and removes the header upstream", async () => {
    const d = (await decide(pipelineWith(keysConfig(KEYS)), "/reports/q1", { "x-api-key": REPORTS_KEY })) as Allow;
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated", credential: "api_key", provider: "(apikey)" });
    expect(d.caller).toEqual({ kind: "client", id: "reports-cron" });
    expect(headerOf(d, "x-client-id")).toBe("reports-cron");
    // As for a client-credentials token: the client id, no user headers.
    expect(headerOf(d, "x-user-sub")).toBeUndefined();
    expect(d.removeHeaders).toContain("x-api-key");
  });

  it("admits a key in the query parameter and names the parameter for removal upstream", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), `/reports/q1?api_key=${REPORTS_KEY}&year=2026`);
    expect(d).toMatchObject({ kind: "allow", removeQueryParameters: ["api_key"] });
    expect(headerOf(d, "x-client-id")).toBe("reports-cron");
  });

  it("accepts a digest written in base64url as the same key", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/admin/x", { "x-api-key": BILLING_KEY });
    expect(d).toMatchObject({ kind: "allow", caller: { kind: "client", id: "billing-legacy" } });
  });

  it("refuses an unknown key with 401 api_key_invalid, a plain Bearer challenge and no trace of the key", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/reports/q1", { "x-api-key": "rk_not-a-configured-key" });
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "api_key_invalid" });
    expect(headerOf(d, "www-authenticate")).toMatch(/^Bearer realm="[^"]*"$/);
    expect(JSON.stringify(d)).not.toContain("rk_not-a-configured-key");
  });

  it("refuses a key lacking the route's scope with 403 insufficient_scope", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/reports/q1", { "x-api-key": BILLING_KEY });
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "insufficient_scope" });
  });

  it("refuses a key lacking the route's role with 403 requirement_failed", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/admin/x", { "x-api-key": REPORTS_KEY });
    expect(d).toMatchObject({ kind: "deny", status: 403, code: "requirement_failed" });
  });

  it("answers a request without a key on a key route with 401 token_missing", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/reports/q1");
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
  });

  it("ignores a key on a route that does not opt in", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/api/x", { "x-api-key": REPORTS_KEY });
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
  });

  it("refuses a key longer than 256 characters before hashing it", async () => {
    const d = await decide(pipelineWith(keysConfig(KEYS)), "/reports/q1", { "x-api-key": "k".repeat(257) });
    expect(d).toMatchObject({
      kind: "deny",
      code: "api_key_invalid",
      detail: expect.stringMatching(/longer than 256/),
    });
  });

  it("refuses a key sent in both the header and the query parameter", async () => {
    const path = `/reports/q1?api_key=${REPORTS_KEY}`;
    const d = await decide(pipelineWith(keysConfig(KEYS)), path, { "x-api-key": REPORTS_KEY });
    expect(d).toMatchObject({ kind: "deny", code: "api_key_invalid" });
  });

  it("refuses a query parameter sent twice, naming neither value", async () => {
    const path = `/reports/q1?api_key=${REPORTS_KEY}&api_key=${BILLING_KEY}`;
    const d = await decide(pipelineWith(keysConfig(KEYS)), path);
    expect(d).toMatchObject({ kind: "deny", code: "api_key_invalid" });
    expect(JSON.stringify(d)).not.toContain(REPORTS_KEY);
  });

  it("admits no key while apiKeys is disabled", async () => {
    const result = parseConfig({
      providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
      routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
      apiKeys: { enabled: false, keys: KEYS },
    });
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    const pipeline = buildCheckPipeline(result.config, createLogger("silent"));
    cleanups.push(() => pipeline.registry.close());
    expect(await decide(pipeline, "/api/x", { "x-api-key": REPORTS_KEY })).toMatchObject({ code: "token_missing" });
  });

  it("rotates on reload: the old key is refused right after, the new one admitted", async () => {
    const rotated = "rk_rotated-2026-12-07-0123456789abcdef";
    const before = pipelineWith(keysConfig(KEYS));
    expect(await decide(before, "/reports/q1", { "x-api-key": REPORTS_KEY })).toMatchObject({ kind: "allow" });
    const after = pipelineWith(
      keysConfig([{ ...KEYS[0], sha256: hex(rotated) }, KEYS[1]] as Record<string, unknown>[]),
      before,
    );
    expect(await decide(after, "/reports/q1", { "x-api-key": REPORTS_KEY })).toMatchObject({
      kind: "deny",
      code: "api_key_invalid",
    });
    expect(await decide(after, "/reports/q1", { "x-api-key": rotated })).toMatchObject({
      kind: "allow",
      caller: { kind: "client", id: "reports-cron" },
    });
  });
});
